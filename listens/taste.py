"""Taste snapshots: an account's Last.fm top artists and albums at one moment."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import ExternalAccount, ListenSource
from listens.clients.lastfm import LastfmClient
from listens.ingest.payloads import clean_text
from listens.models import TasteSnapshot
from listens.providers import client_for
from sidetrack.parsing import parse_mbid


def take_taste_snapshot(
    *, account: ExternalAccount, period: str = "overall", client: LastfmClient | None = None
) -> list[TasteSnapshot]:
    """Store the account's Last.fm top artists and albums for ``period``."""
    if account.source != ListenSource.LASTFM:
        raise ValueError("taste snapshots come from Last.fm accounts")
    if client is None:
        with client_for(account.source) as own:
            return take_taste_snapshot(account=account, period=period, client=own)
    artists = client.get_top_artists(account.external_username, period=period, limit=50)
    albums = client.get_top_albums(account.external_username, period=period, limit=50)
    return [
        TasteSnapshot.objects.create(
            account=account,
            kind=TasteSnapshot.Kind.ARTISTS,
            period=period,
            items=[
                {
                    "rank": a.rank,
                    "name": clean_text(a.name),
                    "mbid": parse_mbid(a.mbid),
                    "playcount": a.playcount,
                }
                for a in artists.items
            ],
        ),
        TasteSnapshot.objects.create(
            account=account,
            kind=TasteSnapshot.Kind.ALBUMS,
            period=period,
            items=[
                {
                    "rank": a.rank,
                    "name": clean_text(a.name),
                    "artist_name": clean_text(a.artist_name),
                    "mbid": parse_mbid(a.mbid),
                    "playcount": a.playcount,
                }
                for a in albums.items
            ],
        ),
    ]


def record_taste_snapshot_error(*, account: ExternalAccount, error: str) -> None:
    """A snapshot that cannot be taken for want of a setting (no Last.fm key): the
    account needs attention, as a failed ingest says; a disconnect stays one."""
    ExternalAccount.objects.filter(pk=account.pk).exclude(
        status=ExternalAccount.Status.DISABLED
    ).update(status=ExternalAccount.Status.ERROR, last_error=error, last_error_at=timezone.now())
