"""listens.0005: a database the (artist, title) schema populated, re-keyed in place."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import ExternalAccount
from listens.models import ListenEvent
from metadata.identity import ReportedTrack, recordings_for_tracks
from metadata.matching import identity_key_digest, text_key_digest
from metadata.models import Recording, RecordingAlias

BEFORE = [("metadata", "0003_curation_decision"), ("listens", "0004_ingest_run_kind")]
STUDIO = "5fb524f1-8cc8-4c04-a921-e34c0a911ea7"
LIVE = "3f3a23b8-cf70-4a1a-8bd9-3a2e3ac4e44c"
TEEN_SPIRIT = "0f3ba5a5-1111-4b7c-9f06-3b40b8b1a3c1"
T0 = datetime(2024, 5, 1, tzinfo=UTC)


def old_text_key(artist: str, title: str) -> str:
    """The previous schema's text key: combining marks dropped before case folding."""

    def normalize(value: str) -> str:
        text = unicodedata.normalize("NFKD", value)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        return " ".join(text.casefold().split())

    key = f"{normalize(artist)}\x1f{normalize(title)}"
    return hashlib.sha256(key.encode()).hexdigest()


def populate(apps) -> dict:
    """What the previous schema stored for a Nirvana fan on Last.fm and ListenBrainz."""
    User = apps.get_model("auth", "User")
    Account = apps.get_model("accounts", "ExternalAccount")
    Recording = apps.get_model("metadata", "Recording")
    Alias = apps.get_model("metadata", "RecordingAlias")
    ReleaseGroup = apps.get_model("metadata", "ReleaseGroup")
    Release = apps.get_model("metadata", "Release")
    Track = apps.get_model("metadata", "Track")
    Listen = apps.get_model("listens", "ListenEvent")
    user = User.objects.create(username="kurt")
    lastfm = Account.objects.create(user=user, source="lastfm", external_username="kurt")
    lb = Account.objects.create(user=user, source="listenbrainz", external_username="kurt")

    live = Recording.objects.create(
        mbid=LIVE, status="resolved", title="Polly", artist_name="Nirvana",
        disambiguation="live, 1993-11-18: MTV Unplugged",
    )  # fmt: skip
    studio = Recording.objects.create(
        mbid=STUDIO, status="resolved", title="Polly", artist_name="Nirvana"
    )
    Artist = apps.get_model("metadata", "Artist")
    credit = apps.get_model("metadata", "ArtistCredit").objects.create(
        key="nirvana", name="Nirvana"
    )
    apps.get_model("metadata", "ArtistCreditName").objects.create(
        credit=credit,
        position=0,
        artist=Artist.objects.create(mbid=uuid.uuid4(), name="Nirvana"),
        name="Nirvana",
    )
    nevermind = ReleaseGroup.objects.create(
        mbid=uuid.uuid4(), title="Nevermind", artist_credit=credit
    )
    release = Release.objects.create(mbid=uuid.uuid4(), release_group=nevermind, title="Nevermind")
    nevermind.preferred_release = release
    nevermind.save()
    Track.objects.create(
        release=release, recording=studio, medium_position=1, position=6, title="Polly"
    )
    # The first listen of "Polly" was the Unplugged one: the text's only answer.
    Alias.objects.create(
        text_key=text_key_digest("Nirvana", "Polly"), recording=live, decided_by="resolver",
        artist_name="Nirvana", track_name="Polly",
    )  # fmt: skip
    teen_spirit = Recording.objects.create(
        mbid=TEEN_SPIRIT, status="resolved", title="Smells Like Teen Spirit", artist_name="Nirvana"
    )
    Alias.objects.create(
        text_key=text_key_digest("Nirvana", "Teen Spirit"), recording=teen_spirit,
        decided_by="curator", artist_name="Nirvana", track_name="Teen Spirit",
    )  # fmt: skip
    waiting = Recording.objects.create(
        unresolved_key=text_key_digest("Nirvana", "Come as You Are"), status="unresolved",
        title="Come as You Are", artist_name="Nirvana", album_name="Nevermind",
        resolution_attempts=3, last_error="ambiguous: 2 recordings match equally well",
    )  # fmt: skip
    greek = Recording.objects.create(
        unresolved_key=old_text_key("ᾼ Band", "Song"), status="unresolved",
        title="Song", artist_name="ᾼ Band",
    )  # fmt: skip
    seconds = iter(range(0, 100_000, 100))

    def listen(account, recording, title, album="", payload=None, at=None, artist="Nirvana"):
        return Listen.objects.create(
            user=user, account=account, source=account.source,
            listened_at=at or T0 + timedelta(seconds=next(seconds)), recording=recording,
            track_name=title, artist_name=artist, album_name=album,
            track_key=old_text_key(artist, title), raw_payload=payload or {},
        )  # fmt: skip

    at = T0 + timedelta(days=1)
    return {
        "unplugged": listen(lastfm, live, "Polly", "MTV Unplugged in New York").pk,
        # Last.fm sent the studio recording's MBID: the text's answer was wrong for it.
        "by_hint": listen(lastfm, live, "Polly", "Nevermind", {"mbid": STUDIO}, at=at).pk,
        # The same play on ListenBrainz, other text noise, already on the studio row.
        "lb_copy": listen(
            lb,
            studio,
            "Polly - Remastered",
            "Nevermind (Remastered)",
            {"track_metadata": {"mbid_mapping": {"recording_mbid": STUDIO}}},
            at=at + timedelta(seconds=1),
        ).pk,  # fmt: skip
        # No MBID, but Nevermind's stored tracklist says which Polly it is.
        "by_album": listen(lastfm, live, "Polly", "Nevermind").pk,
        # A plain title without album is not the live recording: back to resolution.
        "albumless": listen(lastfm, live, "Polly").pk,
        # An MBID we hold no row for: back to resolution, which checks it.
        "unknown_hint": listen(
            lastfm, live, "Polly", "Bleach", {"mbid": "9b8d1e2f-0000-4000-8000-00000000beef"}
        ).pk,
        "curated": listen(lastfm, teen_spirit, "Teen Spirit", "Nevermind").pk,
        "waiting_nevermind": [
            listen(lastfm, waiting, "Come as You Are", "Nevermind").pk for _ in range(2)
        ],  # fmt: skip
        "waiting_unplugged": listen(lastfm, waiting, "Come as You Are", "MTV Unplugged").pk,
        "greek": listen(lastfm, greek, "Song", artist="ᾼ Band").pk,
        "waiting_pk": waiting.pk,
    }


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bulk_ids", [True, False], ids=["bulk-insert", "sqlite-before-3.35"])
def test_migration_rekeys_identities_and_repoints_listens_their_own_evidence_contradicts(
    bulk_ids, monkeypatch
):
    # SQLite before 3.35 (Django 5.2 supports 3.31) returns no ids from a bulk insert.
    monkeypatch.setattr(
        type(connection.features), "can_return_rows_from_bulk_insert", property(lambda _: bulk_ids)
    )
    executor = migrate(BEFORE)
    stored = populate(executor.loader.project_state(BEFORE).apps)

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    def mbid_of(pk: int) -> str | None:
        mbid = ListenEvent.objects.get(pk=pk).recording.mbid
        return str(mbid) if mbid else None

    assert mbid_of(stored["unplugged"]) == LIVE
    assert mbid_of(stored["by_hint"]) == STUDIO
    assert mbid_of(stored["by_album"]) == STUDIO
    for waiting in ("albumless", "unknown_hint"):
        row = ListenEvent.objects.get(pk=stored[waiting]).recording
        assert (row.mbid, row.status) == (None, "unresolved")
    assert str(row.hint_mbid) == "9b8d1e2f-0000-4000-8000-00000000beef"
    assert mbid_of(stored["curated"]) == TEEN_SPIRIT
    # The re-pointed Last.fm listen is the ListenBrainz play again: counted once.
    assert ListenEvent.objects.get(pk=stored["by_hint"]).duplicate_of_id == stored["lb_copy"]

    # The unresolved row is split by album; each part keeps what was tried.
    nevermind = ListenEvent.objects.get(pk=stored["waiting_nevermind"][0]).recording
    unplugged = ListenEvent.objects.get(pk=stored["waiting_unplugged"]).recording
    assert nevermind.pk == stored["waiting_pk"] != unplugged.pk
    assert (nevermind.album_name, unplugged.album_name) == ("Nevermind", "MTV Unplugged")
    # metadata.0005 keys each by its album, as pages find an album's waiting listens.
    assert (nevermind.album_key, unplugged.album_key) == ("nevermind", "mtv unplugged")
    assert unplugged.resolution_attempts == 3
    assert unplugged.unresolved_key == identity_key_digest(
        "Nirvana", "Come as You Are", "MTV Unplugged"
    )
    assert {r.text_key for r in (nevermind, unplugged)} == {
        text_key_digest("Nirvana", "Come as You Are")
    }

    # Text keys follow the new case folding (ᾼ folds to "αι", as "ΑΙ" does).
    greek = ListenEvent.objects.get(pk=stored["greek"])
    assert greek.track_key == text_key_digest("ΑΙ BAND", "Song")
    assert greek.recording.unresolved_key == identity_key_digest("ΑΙ Band", "Song")

    # Later listens find the same answers through the new keys, without resolution.
    later = [
        ReportedTrack("Nirvana", "Polly", "Nevermind", hint_mbid=STUDIO),
        ReportedTrack("Nirvana", "Polly", "MTV Unplugged in New York"),
        ReportedTrack("Nirvana", "Teen Spirit", "Bleach"),  # the curator's: every album
    ]
    found = recordings_for_tracks(later)
    assert [str(found[track.key].mbid) for track in later] == [STUDIO, LIVE, TEEN_SPIRIT]
    curated = RecordingAlias.objects.get(scope="text")
    assert (curated.decided_by, curated.track_name) == ("curator", "Teen Spirit")
    assert not Recording.objects.filter(mbid__isnull=True, text_key="").exists()
    assert ExternalAccount.objects.count() == 2
    assert ListenEvent.objects.count() == 11


@pytest.mark.django_db(transaction=True)
def test_migration_folds_rows_the_new_case_folding_makes_one_identity_by_identity():
    executor = migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Recording_ = apps.get_model("metadata", "Recording")
    Listen = apps.get_model("listens", "ListenEvent")
    user = apps.get_model("auth", "User").objects.create(username="fan")
    account = apps.get_model("accounts", "ExternalAccount").objects.create(
        user=user, source="lastfm", external_username="fan"
    )
    seconds = iter(range(0, 100_000, 100))

    def unresolved(artist: str):
        return Recording_.objects.create(
            unresolved_key=old_text_key(artist, "Song"), status="unresolved",
            title="Song", artist_name=artist, resolution_attempts=2,
        )  # fmt: skip

    def listens(recording, artist: str, album: str, n: int) -> list[int]:
        return [
            Listen.objects.create(
                user=user, account=account, source="lastfm", recording=recording,
                listened_at=T0 + timedelta(seconds=next(seconds)), track_name="Song",
                artist_name=artist, album_name=album, track_key=old_text_key(artist, "Song"),
                raw_payload={},
            ).pk
            for _ in range(n)
        ]  # fmt: skip

    # Two spellings the old folding kept apart ("ᾼ" lost its iota subscript) and the
    # new one makes one text, each heard on two albums.
    subscript, spelt_out = unresolved("ᾼ Band"), unresolved("ΑΙ Band")
    first = listens(subscript, "ᾼ Band", "First", 2) + listens(spelt_out, "ΑΙ Band", "First", 1)
    second = listens(subscript, "ᾼ Band", "Second", 1) + listens(spelt_out, "ΑΙ Band", "Second", 2)

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # One row per album, whichever spelling was heard, keeping what was tried.
    on_first = {ListenEvent.objects.get(pk=pk).recording_id for pk in first}
    on_second = {ListenEvent.objects.get(pk=pk).recording_id for pk in second}
    rows = list(Recording.objects.filter(mbid__isnull=True).order_by("pk"))
    assert [(row.album_name, row.resolution_attempts) for row in rows] == [
        ("First", 2),
        ("Second", 2),
    ]
    assert on_first == {rows[0].pk} == {subscript.pk}
    assert on_second == {rows[1].pk}
    assert rows[1].unresolved_key == identity_key_digest("ΑΙ Band", "Song", "Second")
    assert not Recording.objects.filter(pk=spelt_out.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_migration_leaves_the_listen_indexes_as_they_were():
    executor = migrate(BEFORE)
    stored = populate(executor.loader.project_state(BEFORE).apps)

    def indexes() -> dict:
        with connection.cursor() as cursor:
            found = connection.introspection.get_constraints(cursor, "listens_listenevent")
        return {name: info["columns"] for name, info in found.items() if info["index"]}

    before = indexes()
    migrate([("listens", "0005_album_aware_identity")])

    assert indexes() == before
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())  # as the other tests expect
    # The listens it moved were paired meanwhile (the SQLite run does so on indexes of
    # its own, dropped afterwards).
    assert ListenEvent.objects.get(pk=stored["by_hint"]).duplicate_of_id == stored["lb_copy"]
