from __future__ import annotations

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured
from responses import matchers

from listens.providers import get_lastfm_client, get_listenbrainz_client
from tests.payloads import load_payload


@pytest.mark.parametrize("name", ["LASTFM_API_KEY", "LASTFM_API_SECRET"])
@pytest.mark.parametrize("value", ["", "   "])
def test_lastfm_client_needs_key_and_secret(external_settings, name, value):
    setattr(external_settings, name, value)

    with pytest.raises(ImproperlyConfigured, match=name):
        get_lastfm_client()


def test_listenbrainz_client_needs_a_user_agent(external_settings):
    external_settings.LISTENBRAINZ_USER_AGENT = ""

    with pytest.raises(ImproperlyConfigured, match="LISTENBRAINZ_USER_AGENT"):
        get_listenbrainz_client()


@responses.activate
def test_lastfm_client_uses_configured_host_key_and_user_agent(external_settings):
    responses.get(
        "https://lastfm.test/2.0/",
        json=load_payload("lastfm", "lastfm__user.getTopArtists__2_artists_aurvandil.json"),
        match=[
            matchers.header_matcher({"User-Agent": "SidetrackTests/0.1 ( tests@example.org )"}),
            matchers.query_param_matcher(
                {"api_key": "lfm-test-key-0123456789abcdef", "method": "user.getTopArtists"},
                strict_match=False,
            ),
        ],
    )

    client = get_lastfm_client()
    page = client.get_top_artists("Aurvandil")

    assert page.user == "Aurvandil"
    assert client.http.timeout == (external_settings.HTTP_CONNECT_TIMEOUT, 30.0)
    assert client.http.retry_policy.total == 0


@responses.activate
def test_listenbrainz_client_sends_the_user_agent_verbatim(external_settings):
    external_settings.LISTENBRAINZ_USER_AGENT = "MySidetrack/2.3 ( admin@example.net )"
    responses.get(
        "https://lb.test/1/user/jasjeet/playing-now",
        json=load_payload(
            "listenbrainz", "listenbrainz__user_playing-now__empty_no_playing_now.json"
        ),
        match=[matchers.header_matcher({"User-Agent": "MySidetrack/2.3 ( admin@example.net )"})],
    )

    assert get_listenbrainz_client().get_playing_now("jasjeet") is None
    assert "Authorization" not in responses.calls[0].request.headers


@responses.activate
def test_listenbrainz_client_can_act_for_a_user_with_their_token(external_settings):
    responses.get(
        "https://lb.test/1/user/jasjeet/playing-now",
        json={"payload": {"count": 0, "listens": []}},
        match=[matchers.header_matcher({"Authorization": "Token user-token-1234"})],
    )

    assert get_listenbrainz_client(token="user-token-1234").get_playing_now("jasjeet") is None
