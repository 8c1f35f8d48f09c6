from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from accounts.models import ExternalAccount, ListenSource
from listens.models import ListenEvent
from metadata.identity import assign_recording_mbid, get_or_create_recording_for_text
from metadata.matching import identity_key_digest, text_key_digest
from metadata.models import Artist, Recording, RecordingAlias, Release, ReleaseGroup, Track
from metadata.services import merge_recordings

pytestmark = pytest.mark.django_db

MBID = uuid.UUID("b1a9c0e9-d987-4042-ae91-78d6a3267d69")


def make_listen(account, recording, when, track="Sweet Child O' Mine", artist="Guns N' Roses"):
    return ListenEvent.objects.create(
        user=account.user,
        account=account,
        source=account.source,
        listened_at=when,
        recording=recording,
        track_name=track,
        artist_name=artist,
        track_key=text_key_digest(artist, track),
    )


@pytest.fixture
def account(alice):
    return ExternalAccount.objects.create(
        user=alice, source=ListenSource.LASTFM, external_username="alice_fm"
    )


def test_unresolved_text_variants_share_one_recording():
    curly = get_or_create_recording_for_text(
        artist_name="Guns N’ Roses", track_name="Sweet Child O’ Mine"
    )
    straight = get_or_create_recording_for_text(
        artist_name="guns n' roses", track_name="SWEET CHILD O' MINE"
    )
    accented = get_or_create_recording_for_text(artist_name="Beyoncé", track_name="Halo")
    plain = get_or_create_recording_for_text(artist_name="Beyonce", track_name="Halo")

    assert curly.pk == straight.pk
    assert accented.pk == plain.pk
    assert curly.status == Recording.Status.UNRESOLVED
    assert curly.mbid is None
    assert curly.title == "Sweet Child O’ Mine"  # first-seen text kept for curators
    assert Recording.objects.count() == 2


def test_same_title_by_two_artists_stays_two_recordings():
    one = get_or_create_recording_for_text(artist_name="Oasis", track_name="Wonderwall")
    other = get_or_create_recording_for_text(artist_name="Ryan Adams", track_name="Wonderwall")

    assert one.pk != other.pk


def test_database_refuses_a_second_unresolved_row_for_one_identity():
    get_or_create_recording_for_text(
        artist_name="AC/DC", track_name="Thunderstruck", album_name="The Razors Edge"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Recording.objects.create(
            title="thunderstruck",
            artist_name="ac/dc",
            unresolved_key=identity_key_digest("ac/dc", "thunderstruck", "the razors edge"),
        )


def test_database_refuses_a_recording_with_both_or_neither_identity():
    with pytest.raises(IntegrityError), transaction.atomic():
        Recording.objects.create(title="x", mbid=MBID, unresolved_key="k", status="resolved")
    with pytest.raises(IntegrityError), transaction.atomic():
        Recording.objects.create(title="x", status="unresolved")
    with pytest.raises(IntegrityError), transaction.atomic():
        Recording.objects.create(title="x", unresolved_key="k2", status="resolved")


def test_duplicate_mbid_is_refused():
    Recording.objects.create(title="a", mbid=MBID, status="resolved")

    with pytest.raises(IntegrityError), transaction.atomic():
        Recording.objects.create(title="b", mbid=MBID, status="resolved")


def test_resolving_sets_the_mbid_and_future_text_finds_it(account):
    recording = get_or_create_recording_for_text(artist_name="Queen", track_name="We Will Rock You")
    make_listen(account, recording, datetime(2024, 1, 1, tzinfo=UTC))

    resolved = assign_recording_mbid(recording=recording, mbid=str(MBID))

    assert resolved.pk == recording.pk
    resolved.refresh_from_db()
    assert (resolved.mbid, resolved.status, resolved.unresolved_key) == (MBID, "resolved", None)
    again = get_or_create_recording_for_text(artist_name="QUEEN", track_name="we will rock you")
    assert again.pk == resolved.pk
    assert RecordingAlias.objects.get().decided_by == "resolver"


def test_resolving_to_a_known_mbid_merges_and_every_listen_follows(account):
    known = Recording.objects.create(title="We Will Rock You", mbid=MBID, status="resolved")
    first = make_listen(account, known, datetime(2024, 1, 1, tzinfo=UTC))
    unresolved = get_or_create_recording_for_text(
        artist_name="Queen", track_name="We Will Rock You - Remastered 2011"
    )
    moved = [
        make_listen(
            account,
            unresolved,
            datetime(2024, 1, day, tzinfo=UTC),
            track="We Will Rock You - Remastered 2011",
        )
        for day in (2, 3)
    ]

    result = assign_recording_mbid(recording=unresolved, mbid=MBID, decided_by="curator")

    assert result.pk == known.pk
    assert not Recording.objects.filter(pk=unresolved.pk).exists()
    assert set(known.listens.values_list("pk", flat=True)) == {first.pk, *(m.pk for m in moved)}
    alias = RecordingAlias.objects.get()
    assert (alias.recording_id, alias.decided_by) == (known.pk, "curator")
    later = get_or_create_recording_for_text(
        artist_name="queen", track_name="we will rock you - remastered 2011"
    )
    assert later.pk == known.pk


def test_merge_moves_tracks_and_aliases_too():
    group = ReleaseGroup.objects.create(mbid=uuid.uuid4(), title="News of the World")
    release = Release.objects.create(
        mbid=uuid.uuid4(), release_group=group, title="News of the World"
    )
    source = get_or_create_recording_for_text(artist_name="Queen", track_name="Spread Your Wings")
    target = Recording.objects.create(
        title="Spread Your Wings", mbid=uuid.uuid4(), status="resolved"
    )
    Track.objects.create(
        release=release, recording=source, medium_position=1, position=4, title="Spread Your Wings"
    )
    RecordingAlias.objects.create(key="k", recording=source, decided_by="resolver")

    merge_recordings(source=source, target=target)

    assert Track.objects.get().recording_id == target.pk
    assert RecordingAlias.objects.get().recording_id == target.pk


def test_artist_mbid_is_unique():
    Artist.objects.create(mbid=MBID, name="Queen")
    with pytest.raises(IntegrityError), transaction.atomic():
        Artist.objects.create(mbid=MBID, name="Queen (again)")


def test_a_stale_resolver_answer_does_not_override_a_curator(account):
    row = get_or_create_recording_for_text(artist_name="Queen", track_name="Mustapha")
    stale_copy = Recording.objects.get(pk=row.pk)
    assign_recording_mbid(recording=row, mbid=MBID, decided_by="curator")

    # The resolver's batch loaded the row before the curator acted.
    other = uuid.UUID("6f1a9b0c-1d2e-4f3a-8b4c-5d6e7f8091a2")
    result = assign_recording_mbid(recording=stale_copy, mbid=other)

    assert result.mbid == MBID
    assert Recording.objects.get(pk=row.pk).mbid == MBID
    assert not Recording.objects.filter(mbid=other).exists()


def test_the_resolver_leaves_a_not_in_musicbrainz_decision_alone():
    row = get_or_create_recording_for_text(artist_name="Demo Band", track_name="Tape 3")
    Recording.objects.filter(pk=row.pk).update(status=Recording.Status.NOT_IN_MUSICBRAINZ)

    assign_recording_mbid(recording=row, mbid=MBID)

    assert Recording.objects.get(pk=row.pk).mbid is None


def test_a_row_merged_away_meanwhile_follows_its_alias():
    known = Recording.objects.create(title="Mustapha", mbid=MBID, status="resolved")
    row = get_or_create_recording_for_text(artist_name="Queen", track_name="Mustapha")
    stale_copy = Recording.objects.get(pk=row.pk)
    assign_recording_mbid(recording=row, mbid=MBID)  # merges the row into `known`

    result = assign_recording_mbid(recording=stale_copy, mbid=uuid.uuid4())

    assert result.pk == known.pk
    assert Recording.objects.count() == 1
