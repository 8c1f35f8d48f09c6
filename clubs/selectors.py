"""Reads for album clubs: clubs visible to a user, album progress, standings, comparisons.

Every figure is computed at query time from ``ListenEvent.recording``, so a curator's
decision counts the moment it is saved; nothing is cached. Counted listens only:
the copy of a listen scrobbled to both sources (``duplicate_of`` set) is left out.
A club's standings cost the same handful of queries whatever the number of members.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.urls import reverse

from clubs.models import Club, Invitation, Membership, Nomination
from clubs.progress import (
    Album,
    AlbumRelease,
    AlbumTrack,
    BonusTrack,
    Overlap,
    Progress,
    album_progress,
    overlap,
)
from listens.models import ListenEvent
from metadata.matching import album_base, album_key, artist_matches
from metadata.models import ArtistCreditName, Recording, ReleaseGroup, Track
from sidetrack.parsing import parse_mbid


def clubs_of(*, user: Any) -> QuerySet[Club]:
    """The clubs ``user`` is a member of: the only clubs they may see, each with how
    they joined it (``my_joined_at``, ``my_joined_via``)."""
    # The annotation reads the membership row the filter joined: the user's own.
    return (
        Club.objects.filter(memberships__user_id=user.pk)
        .annotate(
            my_joined_at=F("memberships__joined_at"), my_joined_via=F("memberships__joined_via")
        )
        .select_related("owner")
    )


def club_with_members(*, user: Any, club_id: int) -> Club | None:
    """``club_get`` with its memberships (and their users) loaded, in joining order."""
    members = Prefetch("memberships", queryset=memberships_of_all())
    return clubs_of(user=user).filter(pk=club_id).prefetch_related(members).first()


def memberships_of_all() -> QuerySet[Membership]:
    return Membership.objects.select_related("user").order_by("joined_at", "pk")


def club_get(*, user: Any, club_id: int) -> Club | None:
    """The club, or None when it does not exist or ``user`` is not in it."""
    return clubs_of(user=user).filter(pk=club_id).first()


def memberships_of(*, club: Club) -> QuerySet[Membership]:
    return club.memberships.select_related("user").order_by("joined_at", "pk")


def nominations_of(*, club: Club) -> QuerySet[Nomination]:
    return club.nominations.select_related("release_group__artist_credit", "nominated_by").order_by(
        "-starts_at", "-pk"
    )


def nomination_get(*, club: Club, nomination_id: int) -> Nomination | None:
    return nominations_of(club=club).filter(pk=nomination_id).first()


def member_user_ids(*, club: Club) -> dict[int, str]:
    """User id -> username of the club's members, in joining order."""
    rows = club.memberships.order_by("joined_at", "pk").values_list("user_id", "user__username")
    return dict(rows)


# --- Invitations -------------------------------------------------------------------------


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "replace")).hexdigest()


def open_invitations(*, now: datetime) -> Q:
    """Invitations that can still be used at ``now``."""
    return Q(
        revoked_at__isnull=True,
        declined_at__isnull=True,
        expires_at__gt=now,
        uses__lt=F("max_uses"),
    )


def invitations_of(*, club: Club, now: datetime) -> QuerySet[Invitation]:
    """The club's invitations that can still be used (what its owner manages)."""
    return club.invitations.filter(open_invitations(now=now)).order_by("-created_at", "-pk")


def invitations_for_user(*, user: Any, now: datetime) -> QuerySet[Invitation]:
    """Open invitations addressed to ``user`` by name, to clubs they are not in."""
    return (
        Invitation.objects.filter(open_invitations(now=now), invitee_name=user.get_username())
        .exclude(club__memberships__user_id=user.pk)
        .select_related("club__owner")
        .order_by("-created_at", "-pk")
    )


def invitation_by_code(*, code: str, now: datetime) -> Invitation | None:
    """The open invitation a code (a link) names, whoever it is addressed to: what an
    invitation page shows its holder before they sign in; None when unusable."""
    if not code or not code.strip():
        return None
    return (
        Invitation.objects.filter(open_invitations(now=now), digest=code_digest(code.strip()))
        .select_related("club", "created_by")
        .first()
    )


def usable_invitation(
    *,
    user: Any,
    code: str | None = None,
    invitation_id: int | None = None,
    now: datetime,
    lock: bool,
) -> Invitation | None:
    """The invitation ``user`` may act on, found by its code or (for one addressed to
    them) its id; None for every reason it may not be used (one answer: a code
    tells nothing of who exists)."""
    rows = Invitation.objects.filter(open_invitations(now=now)).select_related("club")
    if lock:
        rows = rows.select_for_update(of=("self",))
    if code:
        rows = rows.filter(digest=code_digest(code.strip()))
    elif invitation_id is not None:
        rows = rows.filter(pk=invitation_id, invitee_name=user.get_username())
    else:
        rows = rows.none()
    invitation = rows.first()
    if invitation is None or invitation.invitee_name not in ("", user.get_username()):
        return None
    return invitation


# --- Albums and progress ---------------------------------------------------------------


def album_get(*, group: ReleaseGroup) -> Album:
    """The group's tracklists as progress needs them, in one query.

    The tracklist is the preferred release's (or, when that one has none stored,
    the first release's that has one); recordings only other editions carry are the
    bonus tracks, each once, listed with the releases that carry it.
    """
    rows = (
        Track.objects.filter(release__release_group=group, recording__mbid__isnull=False)
        .order_by("release__date", "release__mbid", "medium_position", "position")
        .values(
            "release_id",
            "release__mbid",
            "release__title",
            "release__date",
            "release__country",
            "recording_id",
            "recording__mbid",
            "recording__length_ms",
            "medium_position",
            "position",
            "number",
            "title",
            "length_ms",
        )
    )
    lines: dict[int, list[AlbumTrack]] = defaultdict(list)
    release_info: dict[int, tuple[str, str, str, str]] = {}
    for row in rows:
        release_info[row["release_id"]] = (
            str(row["release__mbid"]),
            row["release__title"],
            row["release__date"],
            row["release__country"],
        )
        lines[row["release_id"]].append(
            AlbumTrack(
                recording_id=row["recording_id"],
                recording_mbid=str(row["recording__mbid"]),
                medium=row["medium_position"],
                position=row["position"],
                number=row["number"],
                title=row["title"],
                # The track's own length, else the recording's.
                length_ms=row["length_ms"] or row["recording__length_ms"],
            )
        )
    preferred_id = group.preferred_release_id
    if preferred_id not in lines:
        preferred_id = next(iter(lines), None)
    tracklist = tuple(lines.get(preferred_id, ()))
    on_tracklist = {t.recording_id for t in tracklist}
    bonus: dict[int, tuple[AlbumTrack, list[str]]] = {}
    for release_id, tracks in lines.items():
        for track in tracks:
            if track.recording_id in on_tracklist:
                continue
            _, carriers = bonus.setdefault(track.recording_id, (track, []))
            if release_info[release_id][0] not in carriers:
                carriers.append(release_info[release_id][0])
    releases = tuple(
        AlbumRelease(*release_info[release_id], frozenset(t.recording_id for t in tracks))
        for release_id, tracks in lines.items()
    )
    return Album(
        mbid=str(group.mbid),
        title=group.title,
        artist_credit=group.artist_credit.name if group.artist_credit_id else "",
        tracklist=tracklist,
        bonus=tuple(BonusTrack(track, tuple(carriers)) for track, carriers in bonus.values()),
        releases=releases,
    )


def counted_listens(
    *, user_ids: Sequence[int], since: datetime | None, until: datetime | None
) -> QuerySet[ListenEvent]:
    """The users' counted listens in [since, until), read from the (user, time) index."""
    return (
        ListenEvent.objects.counted(hide_index=True)
        .filter(user_id__in=list(user_ids))
        .between(since=since, until=until)
    )


def album_listens(
    *,
    album: Album,
    user_ids: Sequence[int],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, list[tuple[int, datetime]]]:
    """User id -> [(recording id, listened at)] of the users' counted listens of the
    album's recordings, one query for all users. A listen of a recording counts for
    every release of the group that carries it: identity is the recording row, and
    merged recordings share one row."""
    listens = counted_listens(user_ids=user_ids, since=since, until=until).filter(
        recording_id__in=sorted(album.recording_ids)
    )
    found: dict[int, list[tuple[int, datetime]]] = {uid: [] for uid in user_ids}
    for user_id, recording_id, at in listens.values_list(
        "user_id", "recording_id", "listened_at"
    ).order_by():
        found[user_id].append((recording_id, at))
    return found


def user_album_progress(
    *,
    user_id: int,
    group: ReleaseGroup,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Album, Progress]:
    album = album_get(group=group)
    listens = album_listens(album=album, user_ids=[user_id], since=since, until=until)
    return album, album_progress(album, listens[user_id])


def release_group_for_progress(*, mbid: Any) -> ReleaseGroup | None:
    parsed = parse_mbid(mbid)
    if parsed is None:
        return None
    return ReleaseGroup.objects.select_related("artist_credit").filter(mbid=parsed).first()


# --- Unresolved listens of an album -------------------------------------------------------


def unresolved_admin_url(*, album_title: str) -> str:
    """The admin's unresolved-tracks list filtered to one album: reports whose album
    contains its title, so "(Deluxe Edition)" and "[Remastered]" reports are listed."""
    changelist = reverse("admin:metadata_unresolvedrecording_changelist")
    return f"{changelist}?{urlencode({'album_name__icontains': album_base(album_title)})}"


def unresolved_album_listens(
    *,
    group: ReleaseGroup,
    user_ids: Sequence[int],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, int]:
    """User id -> counted listens still waiting for curation whose reported album and
    artist are the group's (compared as ``metadata.matching`` compares them: edition
    noise, case, accents and punctuation ignored). At most three queries for all users."""
    wanted_album = album_key(group.title)
    # An unresolved row's listens share its album key (it is part of their identity):
    # the album's waiting rows are a few, found by the partial index, and their
    # listens by the (user, recording) one.
    waiting = list(
        Recording.objects.filter(
            status=Recording.Status.UNRESOLVED, album_key=wanted_album[:500]
        ).values_list("pk", flat=True)
    )
    if not wanted_album or not waiting:
        return {}
    credited = ArtistCreditName.objects.filter(credit_id=group.artist_credit_id).values_list(
        "name", "artist__name"
    )
    names = tuple(name for pair in credited for name in pair if name)
    credit_display = group.artist_credit.name if group.artist_credit_id else ""
    listens = (
        ListenEvent.objects.counted()
        .filter(user_id__in=list(user_ids), recording_id__in=waiting)
        .between(since=since, until=until)
        .exclude(album_name="")
    )
    # Grouped by text in SQL; the comparison needs Python's normalization.
    groups = (
        listens.values_list("user_id", "album_name", "artist_name")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int, int] = defaultdict(int)
    verdicts: dict[tuple[str, str], bool] = {}
    for user_id, album_name, artist_name, n in groups:
        key = (album_name, artist_name)
        if key not in verdicts:
            verdicts[key] = album_key(album_name) == wanted_album and artist_matches(
                artist_name, names, credit_display
            )
        if verdicts[key]:
            counts[user_id] += n
    return dict(counts)


# --- A nomination's standings ---------------------------------------------------------------


@dataclass(frozen=True)
class MemberStanding:
    user_id: int
    username: str
    progress: Progress
    unresolved_listens: int


@dataclass(frozen=True)
class Standings:
    nomination: Nomination
    until: datetime
    album: Album
    members: tuple[MemberStanding, ...]  # best first
    unresolved_url: str

    @property
    def totals(self) -> dict[str, Any]:
        heard_by_anyone = set()
        for member in self.members:
            heard_by_anyone |= self.album.tracklist_recordings & member.progress.plays.keys()
        size = len(self.album.tracklist_recordings)
        shares = [m.progress.share_heard for m in self.members]
        return {
            "members": len(self.members),
            "members_started": sum(1 for m in self.members if m.progress.listen_count),
            "members_finished": sum(1 for m in self.members if m.progress.full_listens),
            "listens": sum(m.progress.listen_count for m in self.members),
            "full_listens": sum(len(m.progress.full_listens) for m in self.members),
            "tracks_heard_by_anyone": len(heard_by_anyone),
            "average_share_heard": round(sum(shares) / len(shares), 4) if shares else 0.0,
            "share_heard_by_club": round(len(heard_by_anyone) / size, 4) if size else 0.0,
            "unresolved_listens": sum(m.unresolved_listens for m in self.members),
        }


def nomination_until(*, nomination: Nomination, now: datetime) -> datetime:
    """Listens count up to the nomination's end, or up to now while it runs."""
    return min(nomination.ends_at, now) if nomination.ends_at else now


def nomination_standings(*, nomination: Nomination, now: datetime) -> Standings:
    """Every member's progress on the nominated album between the nomination's start
    and its end (or ``now``), best first. A constant number of queries."""
    members = member_user_ids(club=nomination.club)
    group = nomination.release_group
    album = album_get(group=group)
    until = nomination_until(nomination=nomination, now=now)
    ids = list(members)
    listens = album_listens(album=album, user_ids=ids, since=nomination.starts_at, until=until)
    unresolved = unresolved_album_listens(
        group=group, user_ids=ids, since=nomination.starts_at, until=until
    )
    standings = [
        MemberStanding(uid, name, album_progress(album, listens[uid]), unresolved.get(uid, 0))
        for uid, name in members.items()
    ]
    standings.sort(key=lambda m: (*m.progress.sort_key(), m.username))
    return Standings(
        nomination=nomination,
        until=until,
        album=album,
        members=tuple(standings),
        unresolved_url=unresolved_admin_url(album_title=group.title),
    )


# --- Comparing two users ---------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    listens_a: int
    listens_b: int
    artists: Overlap
    release_groups: Overlap

    @property
    def score(self) -> float:
        return round((self.artists.score + self.release_groups.score) / 2, 4)


def _top(listens: QuerySet[ListenEvent], key: str, name: str, limit: int) -> list[tuple]:
    # distinct: a listen credited to one artist twice, or carried by two releases of
    # one group, counts once for it.
    rows = (
        listens.filter(**{f"{key}__isnull": False})
        .values(key, name)
        .annotate(n=Count("pk", distinct=True))
        .order_by("-n", name, key)[:limit]
    )
    return [(str(row[key]), row[name], row["n"]) for row in rows]


def compare_users(
    *,
    user_a: int,
    user_b: int,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> Comparison:
    """Shared top artists and release groups of two users over a period, with
    overlap scores (``clubs.progress.overlap``). Resolved, counted listens only."""
    artist = (
        "recording__artist_credit__names__artist__mbid",
        "recording__artist_credit__names__artist__name",
    )
    group = (
        "recording__tracks__release__release_group__mbid",
        "recording__tracks__release__release_group__title",
    )
    tops = {}
    totals = {}
    for user_id in (user_a, user_b):
        listens = counted_listens(user_ids=[user_id], since=since, until=until).filter(
            recording__mbid__isnull=False
        )
        totals[user_id] = listens.count()
        tops[user_id] = (_top(listens, *artist, limit), _top(listens, *group, limit))
    return Comparison(
        listens_a=totals[user_a],
        listens_b=totals[user_b],
        artists=overlap(
            tops[user_a][0], tops[user_b][0], total_a=totals[user_a], total_b=totals[user_b]
        ),
        release_groups=overlap(
            tops[user_a][1], tops[user_b][1], total_a=totals[user_a], total_b=totals[user_b]
        ),
    )
