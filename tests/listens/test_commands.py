"""Account connection and the listen management commands, against recorded payloads."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
import responses
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule
from responses import matchers

from accounts.models import ExternalAccount, ListenSource
from accounts.services import connect_account, disconnect_account
from listens.models import IngestRun, ListenEvent, TasteSnapshot
from metadata.resolution import ResolveSummary
from tests.payloads import FIXTURES, load_payload

pytestmark = pytest.mark.django_db

LASTFM = "https://lastfm.test/2.0/"
LB_LISTENS = "https://lb.test/1/user/{}/listens"
LB_PAGE = "listenbrainz__user_listens__2024_android_mbid_mapping_complete.json"  # 25 listens
EXPORT_JSONL = str(
    FIXTURES / "listenbrainz" / "listenbrainz__export_jsonl__listens_with_mbid_mapping.jsonl"
)


class TerminalStringIO(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def mocked(external_settings):
    with responses.RequestsMock() as rsps:  # fails the test if a registered call is unused
        yield rsps


def run(*args, stdout=None, stderr=None) -> tuple[str, str]:
    out, err = stdout or StringIO(), stderr or StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def lastfm_method(method: str, user: str) -> list:
    return [matchers.query_param_matcher({"method": method, "user": user}, strict_match=False)]


def account(user, source: str, name: str) -> ExternalAccount:
    return ExternalAccount.objects.create(user=user, source=source, external_username=name)


# --- connect_account ------------------------------------------------------------------


def test_connect_creates_missing_user_without_usable_password():
    out, _ = run(
        "connect_account", "--user", "carol", "--source", "listenbrainz", "--name", "Carol_LB"
    )

    carol = get_user_model().objects.get(username="carol")
    assert not carol.has_usable_password()
    connected = ExternalAccount.objects.get(user=carol)
    assert (connected.source, connected.external_username) == ("listenbrainz", "Carol_LB")
    assert out.startswith("Connected Carol_LB on ListenBrainz (carol)")


def test_connecting_again_in_other_case_returns_the_same_account(alice):
    first, created = connect_account(username="alice", source="lastfm", external_username="RJ")
    out, _ = run("connect_account", "--user", "alice", "--source", "lastfm", "--name", "rj")
    again, created_again = connect_account(
        username="alice", source="lastfm", external_username=" rj "
    )

    assert created
    assert not created_again
    assert again.pk == first.pk
    assert ExternalAccount.objects.count() == 1
    assert again.external_username == "RJ"  # the first spelling is kept
    assert out.startswith("Already connected RJ on Last.fm (alice)")
    assert alice.password == get_user_model().objects.get(pk=alice.pk).password


@pytest.mark.parametrize(
    ("source", "name", "message"),
    [
        ("spotify", "someone", "unknown source 'spotify'"),
        ("lastfm", "   ", "a Last.fm user name is required"),
    ],
)
def test_connect_rejects_bad_input_with_a_clear_message(source, name, message):
    with pytest.raises(ValueError, match=message):
        connect_account(username="carol", source=source, external_username=name)
    assert not get_user_model().objects.filter(username="carol").exists()


def test_connect_command_turns_bad_input_into_a_command_error():
    with pytest.raises(CommandError, match="user name is required"):
        run("connect_account", "--user", "carol", "--source", "listenbrainz", "--name", "")


def test_new_lastfm_account_queues_a_taste_snapshot_after_commit(
    alice, django_capture_on_commit_callbacks
):
    with (
        mock.patch("django_q.tasks.async_task") as queue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        lastfm, _ = connect_account(username="alice", source="lastfm", external_username="RJ")
        assert not queue.called  # only once the account row is committed
    with (
        mock.patch("django_q.tasks.async_task") as queue_again,
        django_capture_on_commit_callbacks(execute=True),
    ):
        connect_account(username="alice", source="lastfm", external_username="rj")
        connect_account(username="alice", source="listenbrainz", external_username="alice")

    queue.assert_called_once_with("listens.tasks.taste_snapshot_task", lastfm.pk)
    assert not queue_again.called


def test_lastfm_connected_without_a_key_gets_a_one_line_account_error_not_a_traceback(
    settings, queued_tasks, django_capture_on_commit_callbacks, caplog
):
    settings.LASTFM_API_KEY = ""
    with django_capture_on_commit_callbacks(execute=True):
        run("connect_account", "--user", "dora", "--source", "lastfm", "--name", "dora_fm")
    ((task, args, _),) = queued_tasks

    # The worker runs what was queued.
    with caplog.at_level("INFO"):
        result = import_string(task)(*args)

    lastfm = ExternalAccount.objects.get(external_username="dora_fm")
    problem = (
        "LASTFM_API_KEY is not set: set the LASTFM_API_KEY environment variable to use "
        "Last.fm ingest."
    )
    assert (lastfm.status, lastfm.last_error) == (ExternalAccount.Status.ERROR, problem)
    assert result == {"account": lastfm.pk, "status": "error", "error": problem}
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"taste snapshot of {lastfm} not taken: {problem}"
    ]
    assert not [r for r in caplog.records if r.exc_info]
    assert not TasteSnapshot.objects.exists()


def test_disconnect_keeps_listens_and_connect_enables_again(alice):
    lb = account(alice, ListenSource.LISTENBRAINZ, "alice_lb")
    run("import_listens", "--user", "alice", "--name", "alice_lb", EXPORT_JSONL)

    disconnect_account(account=lb)
    out, _ = run("ingest")  # the disabled account is not fetched (no HTTP mocked)

    lb.refresh_from_db()
    assert lb.status == ExternalAccount.Status.DISABLED
    assert ListenEvent.objects.filter(account=lb).count() == 2
    assert "from 0 accounts" in out

    again, created = connect_account(
        username="alice", source="listenbrainz", external_username="alice_lb"
    )
    assert not created
    assert again.status == ExternalAccount.Status.NEW


# --- ingest ---------------------------------------------------------------------------


def test_ingest_fails_with_one_broken_account_after_ingesting_the_others(mocked, alice, bob):
    broken = account(alice, ListenSource.LASTFM, "nosuchuser")
    working = account(bob, ListenSource.LISTENBRAINZ, "jasjeet")
    mocked.get(
        LASTFM,
        status=404,
        json=load_payload(
            "lastfm", "lastfm__error__error6_no_user_with_that_name_was_found_recenttracks.json"
        ),
        match=lastfm_method("user.getRecentTracks", "nosuchuser"),
    )
    mocked.get(LB_LISTENS.format("jasjeet"), json=load_payload("listenbrainz", LB_PAGE))
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match=r"1 of 2 accounts failed: nosuchuser on Last\.fm"):
        call_command("ingest", stdout=out, stderr=err)

    assert ListenEvent.objects.filter(account=working).count() == 25
    assert "jasjeet on ListenBrainz (bob): 25 new, 0 known" in out.getvalue()
    assert "Total: 25 new listens from 2 accounts (1 failed, 0 skipped)" in out.getvalue()
    assert "nosuchuser on Last.fm (alice): FAILED" in err.getvalue()
    assert "Last.fm error 6" in err.getvalue()
    broken.refresh_from_db()
    assert broken.status == ExternalAccount.Status.ERROR
    assert "No user with that name" in broken.last_error


def test_ingest_exits_zero_when_every_selected_account_succeeds(mocked, alice, bob):
    account(alice, ListenSource.LASTFM, "nosuchuser")  # not selected: no request made
    account(bob, ListenSource.LISTENBRAINZ, "jasjeet")
    mocked.get(LB_LISTENS.format("jasjeet"), json=load_payload("listenbrainz", LB_PAGE))

    out, err = run("ingest", "--source", "listenbrainz")

    assert "Total: 25 new listens from 1 accounts (0 failed, 0 skipped)" in out
    assert err == ""


def test_account_claimed_by_another_worker_is_skipped_not_failed(mocked, bob):
    claimed = account(bob, ListenSource.LISTENBRAINZ, "jasjeet")
    ExternalAccount.objects.filter(pk=claimed.pk).update(
        ingest_claimed_until=timezone.now() + timedelta(minutes=5), ingest_claim_token="other"
    )

    out, _ = run("ingest", "--user", "bob")  # no request registered: none may be made

    assert "jasjeet on ListenBrainz (bob): skipped, already being ingested elsewhere" in out
    assert "(0 failed, 1 skipped)" in out
    assert not IngestRun.objects.exists()


def test_ingest_on_a_terminal_shows_progress_in_listens(mocked, bob):
    account(bob, ListenSource.LISTENBRAINZ, "jasjeet")
    mocked.get(LB_LISTENS.format("jasjeet"), json=load_payload("listenbrainz", LB_PAGE))

    out, err = run("ingest", stderr=TerminalStringIO())

    assert "listens/s" in err
    assert "jasjeet on ListenBrainz (bob): 25 new" in out


def test_ingest_for_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No Sidetrack user 'nobody'"):
        run("ingest", "--user", "nobody")


def test_ingest_with_resolve_runs_resolution_afterwards(mocked, bob):
    summary = ResolveSummary(resolved=3, unresolved=1)
    with mock.patch(
        "listens.management.commands.ingest.resolve_unresolved", return_value=summary
    ) as resolve:
        out, _ = run("ingest", "--resolve", "--resolve-limit", "7")

    resolve.assert_called_once_with(limit=7)
    assert "Resolved 3, still unresolved 1, errors 0" in out


# --- taste_snapshot -------------------------------------------------------------------


def test_taste_snapshot_command_stores_charts_of_lastfm_accounts(mocked, alice):
    account(alice, ListenSource.LASTFM, "aurvandil")
    account(alice, ListenSource.LISTENBRAINZ, "alice")  # no charts there: not asked
    mocked.get(
        LASTFM,
        json=load_payload("lastfm", "lastfm__user.getTopArtists__2_artists_aurvandil.json"),
        match=lastfm_method("user.getTopArtists", "aurvandil"),
    )
    mocked.get(
        LASTFM,
        json=load_payload("lastfm", "lastfm__user.getTopAlbums__3_albums_tehrikkit.json"),
        match=lastfm_method("user.getTopAlbums", "aurvandil"),
    )

    out, _ = run("taste_snapshot", "--user", "alice", "--period", "7day")

    assert out.strip() == "aurvandil on Last.fm (alice): 2 artists, 3 albums (7day)"
    assert set(TasteSnapshot.objects.values_list("kind", "period")) == {
        ("artists", "7day"),
        ("albums", "7day"),
    }


# --- setup_schedules ------------------------------------------------------------------


def test_setup_schedules_twice_updates_the_same_rows(settings):
    first, _ = run("setup_schedules")
    settings.INGEST_INTERVAL_MINUTES = 5
    second, _ = run("setup_schedules")

    assert Schedule.objects.count() == 4
    minutes = dict(Schedule.objects.values_list("func", "minutes"))
    assert minutes == {
        "listens.tasks.ingest_all_task": 5,
        "metadata.tasks.resolve_unresolved_task": 60,
        "listens.tasks.taste_snapshots_all_task": 10080,
        "listens.tasks.repair_duplicates_all_task": 10080,
    }
    assert first.count("Created schedule") == 4
    assert "Updated schedule 'Ingest all accounts': listens.tasks.ingest_all_task every 5" in second
    assert second.count("Unchanged schedule") == 3
    ingest = Schedule.objects.get(name="Ingest all accounts")
    assert ingest.schedule_type == Schedule.MINUTES
    assert ingest.repeats == -1
    assert ingest.next_run <= timezone.now() + timedelta(minutes=5)


def test_setup_schedules_collapses_duplicate_names(settings):
    Schedule.objects.create(name="Ingest all accounts", func="old.task", minutes=1)
    Schedule.objects.create(name="Ingest all accounts", func="old.task", minutes=1)

    run("setup_schedules")

    assert list(
        Schedule.objects.filter(name="Ingest all accounts").values_list("func", "minutes")
    ) == [("listens.tasks.ingest_all_task", 15)]


def test_setup_schedules_refuses_a_nonsense_interval(settings):
    settings.RESOLVE_INTERVAL_MINUTES = 0
    with pytest.raises(CommandError, match="RESOLVE_INTERVAL_MINUTES"):
        run("setup_schedules")


def test_a_name_another_user_connected_needs_allow_shared(alice, bob):
    account(bob, ListenSource.LASTFM, "SharedFM")

    with pytest.raises(CommandError, match="--allow-shared"):
        run("connect_account", "--user", "alice", "--source", "lastfm", "--name", "sharedfm")
    assert not ExternalAccount.objects.filter(user=alice).exists()

    out, _ = run(
        "connect_account",
        "--user",
        "alice",
        "--source",
        "lastfm",
        "--name",
        "sharedfm",
        "--allow-shared",
    )
    assert out.startswith("Connected sharedfm on Last.fm (alice)")
