"""Clubs test world: an artist's studio album (standard and deluxe editions), a live
album re-recording its songs, and a compilation carrying a studio recording."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from clubs.models import Club, Membership, Nomination
from metadata.models import Recording, Release, ReleaseGroup, Track
from tests.api.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    as_alice,
    as_bob,
    as_carol,
    carol,
    client_for,
    fast_password_hashing,
    make_artist,
    make_credit,
    resolved_recording,
)

T0 = datetime(2024, 5, 1, 20, 0, tzinfo=UTC)
TRACK_MS = 200_000  # ten tracks: a 2000 s album, so a 3000 s full-listen window


def make_group(title: str, credit, *, primary_type: str = "Album", secondary=()) -> ReleaseGroup:
    return ReleaseGroup.objects.create(
        mbid=uuid.uuid4(),
        title=title,
        artist_credit=credit,
        primary_type=primary_type,
        secondary_types=list(secondary),
    )


def make_release(group: ReleaseGroup, title: str, recordings, *, date: str = "2020-01-01"):
    release = Release.objects.create(
        mbid=uuid.uuid4(),
        release_group=group,
        title=title,
        date=date,
        status="Official",
        tracklist_fetched_at=T0,
    )
    for position, recording in enumerate(recordings, start=1):
        Track.objects.create(
            release=release,
            recording=recording,
            medium_position=1,
            position=position,
            number=str(position),
            title=recording.title,
            length_ms=recording.length_ms,
        )
    return release


@dataclass
class World:
    studio: ReleaseGroup
    standard: Release
    deluxe: Release
    songs: list[Recording]  # the standard edition's ten tracks
    bonus: list[Recording]  # the deluxe edition's two extra tracks
    live_group: ReleaseGroup
    live_songs: list[Recording]
    compilation: ReleaseGroup


@pytest.fixture
def world(db) -> World:
    artist = make_artist("The Weeknights")
    credit = make_credit("The Weeknights", artist)
    songs = [resolved_recording(f"Song {n}", credit, length_ms=TRACK_MS) for n in range(1, 11)]
    bonus = [resolved_recording(f"Bonus {n}", credit, length_ms=TRACK_MS) for n in (1, 2)]
    studio = make_group("Night Drive", credit)
    standard = make_release(studio, "Night Drive", songs, date="2020-01-01")
    deluxe = make_release(studio, "Night Drive (Deluxe)", [*songs, *bonus], date="2021-01-01")
    studio.preferred_release = standard
    studio.save()
    live_songs = [
        resolved_recording(f"Song {n}", credit, length_ms=TRACK_MS + 30_000, disambiguation="live")
        for n in range(1, 11)
    ]
    live_group = make_group("Live at the Roxy", credit, secondary=["Live"])
    live_group.preferred_release = make_release(live_group, "Live at the Roxy", live_songs)
    live_group.save()
    compilation = make_group("Greatest Hits", credit, secondary=["Compilation"])
    compilation.preferred_release = make_release(compilation, "Greatest Hits", [songs[0]])
    compilation.save()
    return World(studio, standard, deluxe, songs, bonus, live_group, live_songs, compilation)


def make_club(owner, *members, name: str = "Sunday Album Club") -> Club:
    club = Club.objects.create(name=name, owner=owner)
    for user in (owner, *members):
        Membership.objects.create(club=club, user=user)
    return club


def nominate(club: Club, group: ReleaseGroup, *, starts_at=T0, ends_at=None) -> Nomination:
    return Nomination.objects.create(
        club=club,
        release_group=group,
        nominated_by=club.owner,
        starts_at=starts_at,
        ends_at=ends_at,
    )
