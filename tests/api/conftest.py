"""Fixtures for the REST API tests: clients per user, and rows built directly."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from accounts.models import ExternalAccount, ListenSource
from listens.models import ListenEvent
from metadata.matching import album_key, identity_key_digest, text_key_digest
from metadata.models import Artist, ArtistCredit, ArtistCreditName, Recording

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
_serial = itertools.count()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Every test creates two or three users; PBKDF2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# What the admin lets a curator do, and what the API checks for the same actions.
CURATION_PERMISSIONS = (
    "metadata.view_unresolvedrecording",
    "metadata.change_unresolvedrecording",
)
STAFF_PERMISSIONS = (
    *CURATION_PERMISSIONS,
    "listens.view_listenevent",
    "accounts.view_externalaccount",
    "accounts.change_externalaccount",
)


def grant(user, *perms: str):
    """``user`` with the model permissions ``perms`` ("app.codename"), fresh from the database."""
    from django.contrib.auth.models import Permission

    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return type(user).objects.get(pk=user.pk)  # has_perm caches per instance


@pytest.fixture
def carol(django_user_model):
    """A staff user (curator) with the admin's permissions on curation, listens and accounts."""
    user = django_user_model.objects.create_user(
        "carol", password="carol-password-1", is_staff=True
    )
    return grant(user, *STAFF_PERMISSIONS)


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def as_alice(alice):
    return client_for(alice)


@pytest.fixture
def as_bob(bob):
    return client_for(bob)


@pytest.fixture
def as_carol(carol):
    return client_for(carol)


def make_account(user, source=ListenSource.LASTFM, name=None, **fields) -> ExternalAccount:
    return ExternalAccount.objects.create(
        user=user,
        source=source,
        external_username=name or f"{user.username}-{source}-{next(_serial)}",
        **fields,
    )


def make_credit(name: str, *artists: Artist) -> ArtistCredit:
    credit = ArtistCredit.objects.create(key=uuid.uuid4().hex, name=name)
    for position, artist in enumerate(artists):
        ArtistCreditName.objects.create(
            credit=credit, position=position, artist=artist, name=artist.name
        )
    return credit


def make_artist(name: str) -> Artist:
    return Artist.objects.create(mbid=uuid.uuid4(), name=name, sort_name=name)


def resolved_recording(title: str, credit: ArtistCredit | None = None, **fields) -> Recording:
    return Recording.objects.create(
        mbid=fields.pop("mbid", None) or uuid.uuid4(),
        status=Recording.Status.RESOLVED,
        title=title,
        artist_credit=credit,
        artist_name=credit.name if credit else fields.pop("artist_name", ""),
        **fields,
    )


def unresolved_recording(artist: str, title: str, **fields) -> Recording:
    """A row as ingest creates it for a first report of (artist, title, album)."""
    fields.setdefault("album_key", album_key(fields.get("album_name", ""))[:500])
    return Recording.objects.create(
        unresolved_key=identity_key_digest(artist, title, fields.get("album_name", "")),
        text_key=text_key_digest(artist, title),
        status=fields.pop("status", Recording.Status.UNRESOLVED),
        title=title,
        artist_name=artist,
        **fields,
    )


def make_listen(
    account: ExternalAccount,
    *,
    at: datetime | None = None,
    track: str = "Song",
    artist: str = "Artist",
    album: str = "",
    recording: Recording | None = None,
    duplicate_of: ListenEvent | None = None,
) -> ListenEvent:
    if recording is None:
        recording = Recording.objects.filter(
            unresolved_key=identity_key_digest(artist, track, album)
        ).first() or unresolved_recording(artist, track, album_name=album)
    return ListenEvent.objects.create(
        user_id=account.user_id,
        account=account,
        source=account.source,
        listened_at=at or T0 + timedelta(minutes=next(_serial)),
        recording=recording,
        track_name=track,
        artist_name=artist,
        album_name=album,
        track_key=text_key_digest(artist, track),
        duplicate_of=duplicate_of,
    )
