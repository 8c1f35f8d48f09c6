from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

OUR_APPS = ("accounts", "metadata", "listens")


def test_every_model_is_in_the_admin():
    ours = [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]
    missing = [m.__name__ for m in ours if not admin.site.is_registered(m)]
    assert missing == []


@pytest.mark.parametrize(
    "model",
    [m for m in apps.get_models() if m._meta.app_label in OUR_APPS],
    ids=lambda m: m.__name__,
)
def test_admin_changelist_and_search_render(admin_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "queen"}).status_code == 200


def test_admin_needs_login(client):
    response = client.get("/admin/listens/listenevent/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_health_reports_database_queue_and_failing_accounts(client, alice):
    from accounts.models import ExternalAccount
    from metadata.identity import get_or_create_recording_for_text

    ExternalAccount.objects.create(
        user=alice, source="lastfm", external_username="a", status="error"
    )
    ExternalAccount.objects.create(user=alice, source="listenbrainz", external_username="b")
    get_or_create_recording_for_text(artist_name="X", track_name="Y")

    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["status"] == "degraded"  # one account needs attention
    assert body["accounts"] == {"failing": 1, "retrying": 0, "ok": 0}
    assert body["unresolved_recordings"] == 1
    assert body["queue"]["status"] == "ok"
    assert body["queue"]["depth"] >= 0


def test_health_is_ok_when_nothing_fails(client):
    body = client.get("/health/").json()

    assert body["status"] == "ok"
    assert body["accounts"]["failing"] == 0


def test_ensure_admin_creates_a_login_once_and_prints_it():
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    username, password = out.getvalue().split("Admin login: ")[1].split()[0:3:2]

    user = get_user_model().objects.get(username=username)
    assert user.is_superuser
    assert user.check_password(password)

    again = StringIO()
    call_command("ensure_admin", stdout=again)
    assert password not in again.getvalue()
    assert get_user_model().objects.count() == 1
