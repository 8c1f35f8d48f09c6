from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import ExternalAccount
from listens.models import IngestRun, ListenEvent
from metadata.models import Recording, Release, ReleaseGroup, Track

pytestmark = pytest.mark.django_db

ACCOUNTS = reverse("admin:accounts_externalaccount_changelist")


def test_ingest_now_queues_each_enabled_account_once(admin_client, alice, bob, queued_tasks):
    first = ExternalAccount.objects.create(user=alice, source="lastfm", external_username="al")
    second = ExternalAccount.objects.create(user=bob, source="listenbrainz", external_username="bo")
    off = ExternalAccount.objects.create(
        user=bob, source="lastfm", external_username="off", status="disabled"
    )
    cache.delete_many([f"ingest-queued:{pk}" for pk in (first.pk, second.pk)])
    selected = {"action": "ingest_now", "_selected_action": [first.pk, second.pk, off.pk]}

    response = admin_client.post(ACCOUNTS, selected, follow=True)
    again = admin_client.post(ACCOUNTS, selected, follow=True)

    assert sorted((func, args) for func, args, _ in queued_tasks) == sorted(
        [
            ("listens.tasks.ingest_account_task", (first.pk,)),
            ("listens.tasks.ingest_account_task", (second.pk,)),
        ]
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "Queued an ingest for 2 account(s)." in messages
    assert "Skipped 1 disabled account(s)." in messages
    messages_again = [str(m) for m in again.context["messages"]]
    assert "Queued an ingest for 0 account(s)." in messages_again
    assert "2 account(s) already had an ingest running or queued." in messages_again


def test_account_shows_status_error_cursor_and_links(admin_client, alice):
    account = ExternalAccount.objects.create(
        user=alice,
        source="lastfm",
        external_username="al",
        status="error",
        last_error="lastfm: User not found HTTP 404",
        last_ingested_ts=int(datetime(2024, 5, 6, 7, 8, tzinfo=UTC).timestamp()),
    )

    body = admin_client.get(ACCOUNTS).content.decode()

    assert "Error (needs attention)" in body
    assert "lastfm: User not found HTTP 404" in body
    assert "May 6, 2024, 7:08 a.m." in body
    assert f"/admin/listens/listenevent/?account__id__exact={account.pk}" in body
    assert f"/admin/listens/ingestrun/?account__id__exact={account.pk}" in body


def test_ingest_runs_are_read_only(admin_client, alice):
    account = ExternalAccount.objects.create(user=alice, source="lastfm", external_username="al")
    run = IngestRun.objects.create(account=account, cursor_after=1714979280)

    detail = admin_client.get(reverse("admin:listens_ingestrun_change", args=[run.pk]))

    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert "May 6, 2024" in detail.content.decode()
    assert admin_client.get(reverse("admin:listens_ingestrun_add")).status_code == 403


def test_raw_payload_is_pretty_printed_and_escaped(admin_client, make_listens, alice):
    make_listens("Queen", "We Will Rock You", 1, user=alice)
    listen = ListenEvent.objects.get()
    listen.raw_payload = {"name": "<script>alert('x')</script>", "nested": {"a": 1}}
    listen.save()

    body = admin_client.get(
        reverse("admin:listens_listenevent_change", args=[listen.pk])
    ).content.decode()

    assert "<script>alert(" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body
    assert "  &quot;nested&quot;: {\n    &quot;a&quot;: 1\n  }" in body


def test_listen_links_to_its_recording(admin_client, make_listens, alice):
    track = make_listens("Queen", "We Will Rock You", 1, user=alice)

    body = admin_client.get(reverse("admin:listens_listenevent_changelist")).content.decode()

    assert reverse("admin:metadata_unresolvedrecording_curate", args=[track.pk]) in body


@pytest.fixture
def album():
    group = ReleaseGroup.objects.create(mbid=uuid.uuid4(), title="News of the World")
    release = Release.objects.create(mbid=uuid.uuid4(), release_group=group, title="News")
    group.preferred_release = release
    group.save()
    recordings = [
        Recording.objects.create(
            mbid=uuid.uuid4(), status="resolved", title=title, artist_name="Queen"
        )
        for title in ("We Will Rock You", "We Are the Champions")
    ]
    for position, recording in enumerate(recordings, start=1):
        Track.objects.create(
            release=release,
            recording=recording,
            medium_position=1,
            position=position,
            number=str(position),
            title=recording.title,
            length_ms=122000,
        )
    return group, recordings


def test_release_group_shows_the_preferred_tracklist(admin_client, album):
    group, recordings = album

    body = admin_client.get(
        reverse("admin:metadata_releasegroup_change", args=[group.pk])
    ).content.decode()

    assert "We Are the Champions" in body
    assert "2:02" in body
    assert reverse("admin:metadata_recording_change", args=[recordings[0].pk]) in body


def test_recording_links_to_its_release_groups_and_listens(admin_client, album):
    group, recordings = album

    body = admin_client.get(
        reverse("admin:metadata_recording_change", args=[recordings[0].pk])
    ).content.decode()

    assert reverse("admin:metadata_releasegroup_change", args=[group.pk]) in body
    assert f"recording__id__exact={recordings[0].pk}" in body


@pytest.mark.parametrize(
    "name",
    [
        "metadata_recording_add",
        "metadata_releasegroup_add",
        "accounts_externalaccount_add",
    ],
)
def test_add_pages_render_with_the_extra_fields(admin_client, name):
    assert admin_client.get(reverse(f"admin:{name}")).status_code == 200


def test_every_admin_changelist_renders_with_rows(admin_client, make_listens, alice):
    make_listens("Nirvana", "Polly", 2, user=alice, album="Nevermind")
    for model in ("recording", "unresolvedrecording", "recordingalias", "curationdecision"):
        response = admin_client.get(reverse(f"admin:metadata_{model}_changelist"))
        assert response.status_code == 200, model
