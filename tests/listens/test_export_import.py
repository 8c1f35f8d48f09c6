"""export_listens / import_listens and the ListenBrainz export reader."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import ExternalAccount, ListenSource
from listens.export_import import MalformedLine, export_user_name, read_export
from listens.ingest.paging import FetchedPage
from listens.ingest.payloads import IncomingListen
from listens.ingest.store import store_page
from listens.models import IngestRun, ListenEvent
from tests.payloads import FIXTURES

pytestmark = pytest.mark.django_db

EXPORT_JSONL = (
    FIXTURES / "listenbrainz" / "listenbrainz__export_jsonl__listens_with_mbid_mapping.jsonl"
)
GOLDEN_BROWN = "c7d0bf6e-b2aa-4ffa-bded-2448415b39b0"  # its mbid_mapping in the fixture
FIXTURE_LINES = EXPORT_JSONL.read_text(encoding="utf-8").splitlines()


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def exported(*args) -> list[dict]:
    out, _ = run("export_listens", *args)
    return [json.loads(line) for line in out.splitlines()]


def listen_line(ts: int, artist: str, track: str, **extra) -> str:
    return json.dumps(
        {"listened_at": ts, "track_metadata": {"artist_name": artist, "track_name": track}, **extra}
    )


def store_lastfm(user, *listens: tuple[int, str, str, str]) -> ExternalAccount:
    account, _ = ExternalAccount.objects.get_or_create(
        user=user, source=ListenSource.LASTFM, external_username=f"{user.username}_fm"
    )
    run_row = IngestRun.objects.create(account=account)
    page = FetchedPage(
        listens=[
            IncomingListen.of(
                listened_at=datetime.fromtimestamp(ts, tz=UTC),
                track_name=track,
                artist_name=artist,
                album_name=album,
                duration_ms=None,
                hints=(),
                raw_json="{}",
            )
            for ts, artist, track, album in listens
        ],
        safe_cursor=None,
    )
    store_page(account=account, run=run_row, page=page)
    return account


def identity(user) -> list[tuple]:
    # The recording's MBID, not its row: an unresolved listen whose source sent an
    # MBID (alice's ListenBrainz mapping) is its own identity, and the export does not
    # repeat an MBID that was never verified.
    return list(
        ListenEvent.objects.filter(user=user)
        .order_by("listened_at", "track_key")
        .values_list("listened_at", "artist_name", "track_name", "album_name", "recording__mbid")
    )


# --- export ---------------------------------------------------------------------------


def test_export_writes_listenbrainz_lines_oldest_first(alice):
    run("import_listens", "--user", "alice", "--name", "alice_lb", str(EXPORT_JSONL))
    store_lastfm(alice, (1700000000, "Portishead", "Roads", ""))

    rows = exported("--user", "alice")

    assert [r["listened_at"] for r in rows] == [1700000000, 1748964167, 1748967954]
    assert rows[0] == {
        "listened_at": 1700000000,
        "track_metadata": {
            "artist_name": "Portishead",
            "track_name": "Roads",
            "additional_info": {"recording_mbid": None, "source": "lastfm"},
        },
    }
    assert rows[1] == {
        "listened_at": 1748964167,
        "track_metadata": {
            "artist_name": "The Stranglers",
            "track_name": "Golden Brown",
            "release_name": "La Folie",
            "additional_info": {"recording_mbid": GOLDEN_BROWN, "source": "listenbrainz"},
        },
    }
    assert [r["listened_at"] for r in exported("--user", "alice", "--source", "lastfm")] == [
        1700000000
    ]


def test_cross_source_duplicates_are_exported_unless_excluded(alice):
    run("import_listens", "--user", "alice", "--name", "alice_lb", str(EXPORT_JSONL))
    # The same play scrobbled to Last.fm 20 seconds later: marked as a duplicate.
    store_lastfm(alice, (1748964187, "The Stranglers", "Golden Brown", "La Folie"))

    everything = exported("--user", "alice")
    deduplicated = exported("--user", "alice", "--exclude-duplicates")

    assert len(everything) == 3
    assert [r["track_metadata"]["additional_info"]["source"] for r in deduplicated] == [
        "listenbrainz",
        "listenbrainz",
    ]


def test_export_then_import_into_another_user_gives_the_same_listens(alice, bob, tmp_path):
    run("import_listens", "--user", "alice", "--name", "alice_lb", str(EXPORT_JSONL))
    store_lastfm(
        alice,
        (1600000000, "Björk", "Jóga", "Homogenic"),
        (1600000000, "Björk", "Bachelorette", "Homogenic"),  # same second, other track
    )
    path = tmp_path / "alice.jsonl"
    out, _ = run("export_listens", "--user", "alice")
    path.write_text(out, encoding="utf-8")

    import_out, _ = run("import_listens", "--user", "bob", "--name", "bob_lb", str(path))

    assert "4 read, 4 new, 0 already stored, 0 malformed" in import_out
    assert identity(bob) == identity(alice)
    assert set(ListenEvent.objects.filter(user=bob).values_list("source", flat=True)) == {
        "listenbrainz"
    }


def test_export_of_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No Sidetrack user 'nobody'"):
        run("export_listens", "--user", "nobody")


# --- import ---------------------------------------------------------------------------


def build_zip(path, *, username="AliceLB") -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("user.json", json.dumps({"user_id": 7, "username": username}) + "\n")
        archive.writestr(
            "listens/2025/6.jsonl",
            "\n".join(
                [
                    *FIXTURE_LINES,
                    FIXTURE_LINES[0],  # exports are not snapshots: a listen twice
                    '{"listened_at": 1748960000, "track_metadata": {"artist_na',  # cut short
                    json.dumps({"listened_at": "yesterday", "track_metadata": {}}),
                ]
            )
            + "\n",
        )
        archive.writestr(
            "listens/2025/5.jsonl", listen_line(1746000000.0, "Air", "La femme d'argent") + "\n"
        )
        archive.writestr(
            "feedback.jsonl", json.dumps({"recording_mbid": GOLDEN_BROWN, "score": 1}) + "\n"
        )


def test_zip_export_imports_once_with_malformed_lines_counted(alice, tmp_path):
    path = tmp_path / "listenbrainz_AliceLB_1748970000.zip"
    build_zip(path)

    out, err = run("import_listens", "--user", "alice", str(path))

    account = ExternalAccount.objects.get(user=alice)
    assert (account.source, account.external_username) == ("listenbrainz", "AliceLB")
    assert ListenEvent.objects.filter(account=account).count() == 3
    # The export repeats one listen: stored once, the repeat counted as already stored.
    assert "6 read, 3 new, 1 already stored, 2 malformed" in out
    assert "6.jsonl:4: not JSON" in err
    assert "unusable listened_at: 'yesterday'" in err
    run_row = IngestRun.objects.get(account=account)
    assert (run_row.status, run_row.listens_new, run_row.errors) == ("succeeded", 3, 2)
    assert run_row.finished_at is not None
    account.refresh_from_db()
    assert account.last_ingested_ts is None  # an import never moves the cursor
    assert account.status == ExternalAccount.Status.NEW

    again, _ = run("import_listens", "--user", "alice", str(path))

    assert "6 read, 0 new, 4 already stored, 2 malformed" in again
    assert ListenEvent.objects.filter(account=account).count() == 3
    assert IngestRun.objects.filter(account=account).count() == 2


def test_import_keeps_the_cursor_of_an_ingested_account(alice, tmp_path):
    account = ExternalAccount.objects.create(
        user=alice,
        source=ListenSource.LISTENBRAINZ,
        external_username="alicelb",
        last_ingested_ts=1700000000,
        status=ExternalAccount.Status.DISABLED,
    )
    path = tmp_path / "export.zip"
    build_zip(path)

    run("import_listens", "--user", "alice", str(path))

    account.refresh_from_db()
    assert account.last_ingested_ts == 1700000000
    assert account.status == ExternalAccount.Status.DISABLED  # importing does not reconnect
    assert ListenEvent.objects.filter(account=account).count() == 3


def test_jsonl_export_needs_a_name_when_it_holds_none(alice):
    with pytest.raises(CommandError, match="No ListenBrainz user name .* pass --name"):
        run("import_listens", "--user", "alice", str(EXPORT_JSONL))
    assert not ExternalAccount.objects.exists()

    out, _ = run("import_listens", "--user", "alice", "--name", "alice_lb", str(EXPORT_JSONL))

    assert "Connected alice_lb on ListenBrainz (alice)" in out
    assert "2 read, 2 new" in out
    golden = ListenEvent.objects.select_related("recording").get(track_name="Golden Brown")
    assert str(golden.recording.mbid) == GOLDEN_BROWN  # mbid_mapping agrees with the text
    assert golden.album_name == "La Folie"


def test_old_json_array_export_takes_the_name_from_its_listens(alice, tmp_path):
    path = tmp_path / "rob_lb-2019-03-01.json"
    path.write_text(
        json.dumps(
            [
                {**json.loads(listen_line(1551398400, "Low", "Words")), "user_name": "rob"},
                {**json.loads(listen_line(1551398700, "Low", "Lazy")), "user_name": "rob"},
                "not a listen",
            ]
        ),
        encoding="utf-8",
    )

    out, _ = run("import_listens", "--user", "alice", str(path))

    assert ExternalAccount.objects.get(user=alice).external_username == "rob"
    assert "3 read, 2 new, 0 already stored, 1 malformed" in out


def test_a_file_that_is_not_an_export_is_a_clear_error(alice, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"listened_at": 1', encoding="utf-8")

    with pytest.raises(CommandError, match="neither JSON Lines nor a JSON array"):
        run("import_listens", "--user", "alice", "--name", "x", str(path))
    with pytest.raises(CommandError, match="No such file"):
        run("import_listens", "--user", "alice", "--name", "x", str(tmp_path / "missing.zip"))


# --- the reader alone -----------------------------------------------------------------


def test_reader_yields_listens_of_every_month_and_marks_bad_lines(tmp_path):
    path = tmp_path / "export.zip"
    build_zip(path)

    items = list(read_export(path))

    listens = [i for i in items if isinstance(i, dict)]
    bad = [i for i in items if isinstance(i, MalformedLine)]
    # May before June; feedback.jsonl is not read as listens
    assert [i["listened_at"] for i in listens] == [
        1746000000,
        1748964167,
        1748967954,
        1748964167,
        "yesterday",
    ]
    assert isinstance(listens[0]["listened_at"], int)  # 1746000000.0 in the file
    assert [b.location for b in bad] == ["listens/2025/6.jsonl:4"]
    assert export_user_name(path) == "AliceLB"


def test_reader_skips_blank_lines_and_a_byte_order_mark(tmp_path):
    path = tmp_path / "listens.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + listen_line(1, "A", "B").encode()
        + b"\n\n  \n"
        + listen_line(2, "C", "D").encode()
        + b"\n\xff\xfe\n"
    )

    items = list(read_export(path))

    assert [i["listened_at"] for i in items[:2]] == [1, 2]
    assert isinstance(items[2], MalformedLine)
    assert len(items) == 3
    assert export_user_name(path) is None


def test_an_import_is_logged_as_an_import_run(alice, tmp_path):

    path = tmp_path / "listens.jsonl"
    path.write_text(
        '{"listened_at": 1700000000, "track_metadata": {"artist_name": "A", "track_name": "T"}}\n'
    )
    call_command("import_listens", "--user", "alice", "--name", "alice_lb", str(path))

    run = IngestRun.objects.get()
    assert (run.kind, run.listens_new) == (IngestRun.Kind.IMPORT, 1)


# --- Names empty after cleaning ---------------------------------------------------------

INVISIBLE = ("\x00\x00", "\u200b\u200d", "\x07\t ", "\ufeff")


def test_the_importer_counts_and_reports_listens_with_invisible_names(alice, tmp_path):
    export = tmp_path / "listens.jsonl"
    lines = [listen_line(1700000000 + i, name, "Track") for i, name in enumerate(INVISIBLE)]
    lines += [listen_line(1700000100, "Artist", "\u200b"), listen_line(1700000200, "A", "T")]
    export.write_text("\n".join(lines), encoding="utf-8")

    out, err = run("import_listens", "--user", "alice", "--name", "alice_lb", str(export))

    stored = list(ListenEvent.objects.values_list("artist_name", "track_name"))
    assert stored == [("A", "T")]
    assert "5 malformed" in out
    assert "malformed: listen 1: artist_name is empty after cleaning" in err
    assert "malformed: listen 5: track_name is empty after cleaning" in err


def test_a_polled_listen_with_invisible_names_is_counted_never_stored(alice):
    account = store_lastfm(
        alice,
        *[(1700000000 + i, name, "Track", "") for i, name in enumerate(INVISIBLE)],
        (1700000100, "Artist", "\u200b\u200b", ""),
        (1700000200, "Portishead", "Roads", ""),
    )

    assert list(ListenEvent.objects.values_list("artist_name", flat=True)) == ["Portishead"]
    assert IngestRun.objects.get(account=account).errors == 5


def test_every_exported_listen_passes_the_submit_apis_validation(alice):
    from listens.submission import SubmissionInvalid, parse_submission

    run("import_listens", "--user", "alice", "--name", "alice_lb", str(EXPORT_JSONL))
    store_lastfm(
        alice,
        (1700000000, "Portishead", "Roads", ""),
        (1700000050, "Björk", "Jóga", "Homogenic"),
        (1700000060, "Artist\u200d", "Track", "Album"),  # a joiner inside a name is fine
        (1000000000, "Too Early", "Track", ""),  # 2001: before ListenBrainz's minimum
        (1700000070, "Long", "x" * 1500, ""),  # ListenBrainz limits the listen's size only
    )
    # A listen stored before the rule, with an artist that is empty after cleaning.
    legacy = ListenEvent.objects.filter(artist_name="Portishead").get()
    ListenEvent.objects.filter(pk=legacy.pk).update(artist_name="\u200b")

    out, err = run("export_listens", "--user", "alice")
    rows = [json.loads(line) for line in out.splitlines()]

    assert len(rows) == 5
    for row in rows:
        body = json.dumps({"listen_type": "import", "payload": [row]}).encode()
        try:
            parse_submission(body)
        except SubmissionInvalid as error:  # pragma: no cover - the failure's message
            pytest.fail(f"{row}: {error}")
    assert "left out 1 listens ListenBrainz would refuse: artist_name is empty" in err
    assert "listened_at is before 2002-10-01" in err
    assert err.count("left out 1 listens") == 2  # the long name is exported


def test_old_array_export_is_read_item_by_item_so_listens_before_damage_arrive(tmp_path):
    path = tmp_path / "rob_lb-2019-03-01.json"
    first, second = listen_line(1551398400, "Low", "Words"), listen_line(1551398700, "Low", "Lazy")
    # A byte-order mark, a float timestamp, then a cut-off end.
    path.write_bytes(
        b"\xef\xbb\xbf["
        + first.replace("1551398400", "1551398400.0").encode()
        + b","
        + second.encode()
        + b', {"listened_at": 1'
    )
    items = read_export(path)

    # Streamed: the first listens come before the damage is reached.
    assert next(items)["listened_at"] == 1551398400
    assert isinstance(next(items)["track_metadata"]["track_name"], str)
    with pytest.raises(ValueError, match="neither JSON Lines nor a JSON array"):
        next(items)


def test_import_checks_its_arguments_before_reading_the_file(alice, tmp_path):
    path = tmp_path / "huge.json"
    path.write_text("[" + ",".join([listen_line(1, "A", "B")] * 3) + "]", encoding="utf-8")

    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        run("import_listens", "--user", "alice", "--batch-size", "0", str(path))
    assert not IngestRun.objects.exists()


def test_the_user_name_comes_from_the_first_listen_without_reading_the_rest(tmp_path):
    path = tmp_path / "listens.jsonl"
    # Were the whole file read, the second line's name would be found.
    named = {**json.loads(listen_line(2, "C", "D")), "user_name": "later"}
    path.write_text(listen_line(1, "A", "B") + "\n" + json.dumps(named) + "\n", encoding="utf-8")

    assert export_user_name(path) is None
