"""The slash commands: thin presenters over clubs' and listens' selectors and services.

Each command checks at once, on the web request, who asks and where (linked? in a
server bound to a club? a member of it?) and refuses privately when it cannot be
done. Commands that may call upstream services (MusicBrainz, Last.fm,
ListenBrainz) answer "thinking…" at once and finish in a task
(``faces.discord.tasks``); the others answer in the request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from accounts.models import ListenSource
from accounts.services import AccountRefused, connect_user_account, request_ingest
from clubs.models import Club, Membership
from clubs.selectors import (
    compare_users,
    member_user_ids,
    nomination_standings,
    nomination_until,
    user_album_progress,
)
from clubs.services import (
    AlbumChoiceNeeded,
    AlbumRequest,
    ClubError,
    join_club,
    member_leave,
    nominate,
)
from faces.discord import selectors
from faces.discord.interactions import (
    EMBED_DESCRIPTION_MAX,
    SELECT_OPTIONS_MAX,
    SELECT_TEXT_MAX,
    Interaction,
    Refused,
    Reply,
    clip,
    clip_lines,
)
from faces.discord.services import LinkRefused, code_redeem, discord_signup
from listens.now_playing import now_playing_for_user
from sidetrack.http.deadline import upstream_deadline
from sidetrack.http.errors import ExternalApiError, NotFoundError

logger = logging.getLogger(__name__)

COLOR = 0x5865F2
NOMINATE_PICK = "nominate-pick"  # a component's custom_id: "nominate-pick:<discord user id>"
SERVICE_NAMES = {"musicbrainz": "MusicBrainz", "lastfm": "Last.fm", "listenbrainz": "ListenBrainz"}


@dataclass(frozen=True)
class Command:
    run: Callable[[Interaction, datetime], Reply]
    check: Callable[[Interaction, datetime], None] | None = None
    deferred: bool = False  # may call upstream: answered in a task
    ephemeral: bool = False


# --- Who asks, and where ----------------------------------------------------------------


def md(text: str) -> str:
    """Text shown as typed: Discord's markdown characters escaped."""
    return re.sub(r"([\\*_~`|>\[\]()#-])", r"\\\1", text)


def _user(ix: Interaction) -> Any:
    user = selectors.linked_user(discord_id=ix.user_id)
    if user is None:
        raise Refused(
            "Your Discord account is not linked to Sidetrack yet. Use `/link` with a code "
            "from Sidetrack, or `/connect lastfm <name>` / `/connect listenbrainz <name>`."
        )
    return user


def _club(ix: Interaction) -> Club:
    if not ix.guild_id:
        raise Refused("This command works in a server bound to a club, not in direct messages.")
    club = selectors.guild_club(guild_id=ix.guild_id)
    if club is None:
        raise Refused(
            "This server is not bound to a club yet: the club's owner gets a code "
            "(`manage.py discord_club_code`) and runs `/link <code>` here."
        )
    return club


def _member(ix: Interaction) -> tuple[Club, Any]:
    """The server's club and the asker, who must have joined it: only members see
    what the club sees."""
    club = _club(ix)
    user = _user(ix)
    if not selectors.is_member(club=club, user_id=user.pk):
        raise Refused(f"You have not joined {md(club.name)}: `/club join` first.")
    return club, user


def _other_member(ix: Interaction, club: Club, asker: Any, option: str = "member") -> Any:
    """The member named by a user option (the asker when none): someone who never
    joined the club is refused exactly like someone who never linked."""
    discord_id = ix.options.get(option)
    if not discord_id or str(discord_id) == ix.user_id:
        return asker
    user = selectors.linked_user(discord_id=str(discord_id))
    if user is None or not selectors.is_member(club=club, user_id=user.pk):
        raise Refused(f"That person has not joined {md(club.name)}.")
    return user


def _nomination(club: Club, now: datetime) -> Any:
    nomination = selectors.current_nomination(club=club, now=now)
    if nomination is None:
        raise Refused("No album is nominated right now: `/nominate artist album`.")
    return nomination


def _bar(share: float, cells: int = 10) -> str:
    filled = round(share * cells)
    return "▰" * filled + "▱" * (cells - filled)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _album_title(album: Any) -> str:
    return f"{album.title} — {album.artist_credit}" if album.artist_credit else album.title


# --- /np ----------------------------------------------------------------------------------


def np_check(ix: Interaction, now: datetime) -> None:
    if ix.options.get("member") and str(ix.options["member"]) != ix.user_id:
        club, user = _member(ix)
        _other_member(ix, club, user)
    else:
        _user(ix)


def np_run(ix: Interaction, now: datetime) -> Reply:
    if ix.options.get("member") and str(ix.options["member"]) != ix.user_id:
        club, asker = _member(ix)
        user = _other_member(ix, club, asker)
    else:
        user = _user(ix)
    with upstream_deadline(settings.UPSTREAM_DEADLINE_SECONDS):
        answers = now_playing_for_user(username=user.get_username())
    playing = next((a.now_playing for a in answers if a.now_playing), None)
    name = md(user.get_username())
    if playing is not None:
        line = f"**{md(playing.track_name)}** by {md(playing.artist_name)}"
        if playing.album_name:
            line += f" · *{md(playing.album_name)}*"
        if playing.recording_mbid:
            line += f"\n<https://musicbrainz.org/recording/{playing.recording_mbid}>"
        return Reply(embeds=({"title": f"{name} is playing", "description": line, "color": COLOR},))
    last = selectors.last_listen(user_id=user.pk)
    if last is None:
        return Reply(content=f"{name} has no listens yet.")
    line = f"**{md(last.track_name)}** by {md(last.artist_name)}"
    if last.album_name:
        line += f" · *{md(last.album_name)}*"
    if last.recording.mbid:
        line += f"\n<https://musicbrainz.org/recording/{last.recording.mbid}>"
    line += f"\n<t:{int(last.listened_at.timestamp())}:R>"
    return Reply(embeds=({"title": f"{name}'s last listen", "description": line, "color": COLOR},))


# --- /standings and /progress ------------------------------------------------------------


def standings_run(ix: Interaction, now: datetime) -> Reply:
    club, _ = _member(ix)
    nomination = _nomination(club, now)
    standings = nomination_standings(nomination=nomination, now=now)
    size = len(standings.album.tracklist)
    lines = []
    for rank, member in enumerate(standings.members, start=1):
        progress = member.progress
        line = f"{rank}. `{_bar(progress.share_heard)}` **{md(member.username)}** "
        line += f"{progress.heard}/{size}"
        if progress.full_listens:
            line += f" · {_plural(len(progress.full_listens), 'full listen')}"
        if member.unresolved_listens:
            line += f" · {member.unresolved_listens} waiting for curation"
        lines.append(line)
    totals = standings.totals
    footer = (
        f"{totals['members_started']} of {totals['members']} started · "
        f"{_plural(totals['full_listens'], 'full listen')} · "
        f"{totals['unresolved_listens']} listens wait for curation"
    )
    return Reply(
        embeds=(
            {
                "title": _album_title(standings.album),
                "url": f"https://musicbrainz.org/release-group/{standings.album.mbid}",
                "description": clip_lines(lines, EMBED_DESCRIPTION_MAX),
                "footer": {"text": f"Since {nomination.starts_at:%Y-%m-%d} · {footer}"},
                "color": COLOR,
            },
        )
    )


def progress_run(ix: Interaction, now: datetime) -> Reply:
    club, asker = _member(ix)
    user = _other_member(ix, club, asker)
    nomination = _nomination(club, now)
    album, progress = user_album_progress(
        user_id=user.pk,
        group=nomination.release_group,
        since=nomination.starts_at,
        until=nomination_until(nomination=nomination, now=now),
    )
    lines = []
    for track in album.tracklist:
        plays = progress.plays.get(track.recording_id)
        mark = "✅" if plays else "▫️"
        count = f" ({plays.count})" if plays else ""
        lines.append(f"{mark} {track.number or track.position}. {md(track.title)}{count}")
    summary = f"{progress.heard}/{progress.tracklist_size} tracks heard"
    if progress.full_listens:
        summary += f" · {_plural(len(progress.full_listens), 'full listen')}"
    return Reply(
        embeds=(
            {
                "title": f"{user.get_username()}: {_album_title(album)}",
                "url": f"https://musicbrainz.org/release-group/{album.mbid}",
                "description": clip_lines(lines, EMBED_DESCRIPTION_MAX),
                "footer": {"text": summary},
                "color": COLOR,
            },
        )
    )


# --- /nominate ------------------------------------------------------------------------------


def nominate_check(ix: Interaction, now: datetime) -> None:
    _member(ix)
    if (
        not str(ix.options.get("artist") or "").strip()
        or not str(ix.options.get("album") or "").strip()
    ):
        raise Refused("Give both the artist and the album.")


def nominate_run(ix: Interaction, now: datetime) -> Reply:
    club, user = _member(ix)
    year = ix.options.get("year")
    request = AlbumRequest(
        artist=str(ix.options["artist"]).strip(),
        title=str(ix.options["album"]).strip(),
        year=int(year) if year else None,
    )
    return _nominate(club, user, request, ix, now)


def nominate_pick_check(ix: Interaction, now: datetime) -> None:
    _, owner = ix.custom_id.split(":", 1) if ":" in ix.custom_id else ("", "")
    if owner != ix.user_id:
        raise Refused("Only the member who asked can pick the album; `/nominate` to ask yourself.")
    _member(ix)
    if not ix.values:
        raise Refused("Pick one of the albums.")


def nominate_pick_run(ix: Interaction, now: datetime) -> Reply:
    club, user = _member(ix)
    return _nominate(club, user, AlbumRequest(release_group_mbid=ix.values[0]), ix, now)


def _nominate(
    club: Club, user: Any, request: AlbumRequest, ix: Interaction, now: datetime
) -> Reply:
    try:
        nomination = nominate(club=club, actor=user, album=request, starts_at=now)
    except AlbumChoiceNeeded as needed:
        return _album_menu(needed, ix)
    except NotFoundError:
        return Reply(content="MusicBrainz has no such album any more; try `/nominate` again.")
    group = nomination.release_group
    credit = group.artist_credit.name if group.artist_credit_id else ""
    title = f"**{md(group.title)}**" + (f" by {md(credit)}" if credit else "")
    return Reply(
        content=(
            f"{md(user.get_username())} nominated {title} in {md(club.name)}.\n"
            f"<https://musicbrainz.org/release-group/{group.mbid}> · `/standings` to follow it."
        )
    )


def _album_menu(needed: AlbumChoiceNeeded, ix: Interaction) -> Reply:
    ranked = needed.choice.ranked[:SELECT_OPTIONS_MAX]
    if not ranked:
        return Reply(content="MusicBrainz found no such album. Check the spelling and try again.")
    options = []
    for item in ranked:
        candidate = item.candidate
        year = (candidate.first_release_date or "")[:4]
        kind = " + ".join([candidate.primary_type or "?", *candidate.secondary_types])
        options.append(
            {
                "label": clip(candidate.title, SELECT_TEXT_MAX),
                "value": candidate.mbid,
                "description": clip(
                    " · ".join(p for p in (candidate.credit_display, year, kind) if p),
                    SELECT_TEXT_MAX,
                ),
            }
        )
    menu = {
        "type": 1,  # an action row holding one string select
        "components": [
            {
                "type": 3,
                "custom_id": f"{NOMINATE_PICK}:{ix.user_id}",
                "placeholder": "Which album?",
                "options": options,
            }
        ],
    }
    return Reply(
        content=f"Not sure which album you mean ({needed.choice.reason}). Pick one:",
        components=(menu,),
    )


# --- /whoknows ----------------------------------------------------------------------------


def whoknows_run(ix: Interaction, now: datetime) -> Reply:
    club, _ = _member(ix)
    kind = ix.command.split(" ", 1)[1]
    name = str(ix.options.get("name") or "").strip()
    if kind == "artist":
        target = selectors.artist_target(name=name)
    elif kind == "album":
        target = selectors.album_target(name=name, club=club, now=now)
    else:
        target = selectors.track_target(name=name)
    if target is None:
        if not name:
            raise Refused("Name it, or nominate an album first: `/whoknows album name`.")
        raise Refused(f"Sidetrack knows no {kind} named {md(name)}.")
    members = member_user_ids(club=club)
    plays = selectors.member_plays(user_ids=list(members), recordings=target.recordings)
    ranked = sorted(plays.items(), key=lambda item: (-item[1], members[item[0]]))
    lines = [
        f"{rank}. **{md(members[user_id])}** — {_plural(n, 'play')}"
        for rank, (user_id, n) in enumerate(ranked, start=1)
    ]
    title = f"Who knows {target.name}" + (f" by {target.by}" if target.by else "")
    footer = f"{_plural(sum(plays.values()), 'play')} by {len(plays)} of {len(members)} members"
    if target.others:
        footer += f" · {target.others} more {kind}s share this name: add the artist (Artist - Name)"
    return Reply(
        embeds=(
            {
                "title": title,
                "url": target.url,
                "description": clip_lines(lines, EMBED_DESCRIPTION_MAX)
                or "Nobody in the club has played it yet.",
                "footer": {"text": footer},
                "color": COLOR,
            },
        )
    )


# --- /compare -------------------------------------------------------------------------------


def compare_check(ix: Interaction, now: datetime) -> None:
    club, user = _member(ix)
    if _other_member(ix, club, user) == user:
        raise Refused("Compare yourself with another member: `/compare @member`.")


def compare_run(ix: Interaction, now: datetime) -> Reply:
    club, asker = _member(ix)
    other = _other_member(ix, club, asker)
    comparison = compare_users(user_a=asker.pk, user_b=other.pk, limit=50)
    shared = sorted(comparison.artists.shared, key=lambda s: -min(s.listens_a, s.listens_b))[:10]
    lines = [f"**{md(s.name)}** — {s.listens_a} / {s.listens_b}" for s in shared] or [
        "No top artists in common yet."
    ]
    return Reply(
        embeds=(
            {
                "title": f"{asker.get_username()} and {other.get_username()}: "
                f"{round(comparison.score * 100)}% overlap",
                "description": "Shared top artists (plays each):\n"
                + clip_lines(lines, EMBED_DESCRIPTION_MAX - 40),
                "footer": {
                    "text": f"{comparison.listens_a} and {comparison.listens_b} counted listens"
                },
                "color": COLOR,
            },
        )
    )


# --- /connect, /link, /club, /help ----------------------------------------------------------


def connect_check(ix: Interaction, now: datetime) -> None:
    source = ix.command.split(" ", 1)[1]
    if source not in (ListenSource.LASTFM, ListenSource.LISTENBRAINZ):
        raise Refused("Connect `lastfm` or `listenbrainz`.")
    if not str(ix.options.get("name") or "").strip():
        raise Refused("Give your user name on that service.")
    if selectors.linked_user(discord_id=ix.user_id) is None and not settings.DISCORD_ALLOW_SIGNUP:
        raise Refused(
            "This Sidetrack does not sign people up from Discord. Ask for a code on Sidetrack "
            "and run `/link <code>` first."
        )


def connect_run(ix: Interaction, now: datetime) -> Reply:
    source = ix.command.split(" ", 1)[1]
    name = str(ix.options["name"]).strip()
    user = selectors.linked_user(discord_id=ix.user_id)
    created_user = False
    if user is None:
        if not settings.DISCORD_ALLOW_SIGNUP:
            raise Refused("This Sidetrack does not sign people up from Discord.")
        user = discord_signup(discord_id=ix.user_id, discord_name=ix.user_name)
        created_user = True
    try:
        account, created = connect_user_account(
            user=user,
            source=source,
            external_username=name,
            max_accounts=settings.MAX_ACCOUNTS_PER_USER,
        )
    except AccountRefused as refused:
        raise Refused(f"Not connected: {refused}.") from refused
    request_ingest(account=account)
    label = ListenSource(source).label
    text = f"Connected {label} **{md(account.external_username)}**"
    text += "; fetching your listens now." if created else " (already connected); fetching now."
    if created_user:
        text += f"\nYour Sidetrack user is **{md(user.get_username())}**."
    if ix.guild_id and selectors.guild_club(guild_id=ix.guild_id):
        text += "\n`/club join` to take part in this server's club."
    return Reply(content=text, ephemeral=True)


def link_run(ix: Interaction, now: datetime) -> Reply:
    try:
        redeemed = code_redeem(
            code=str(ix.options.get("code") or ""),
            discord_id=ix.user_id,
            discord_name=ix.user_name,
            guild_id=ix.guild_id,
            permissions=ix.permissions,
            now=now,
        )
    except LinkRefused as refused:
        raise Refused(str(refused)) from refused
    if redeemed.club is not None:
        return Reply(
            content=f"This server is now bound to the club **{md(redeemed.club.name)}**. "
            "Members run `/club join` to take part; nobody appears before they do.",
            ephemeral=True,
        )
    return Reply(
        content=f"Linked to Sidetrack user **{md(redeemed.user.get_username())}**.",
        ephemeral=True,
    )


def club_join_run(ix: Interaction, now: datetime) -> Reply:
    club = _club(ix)
    user = _user(ix)
    try:
        _, created = join_club(club=club, user=user, via=Membership.JoinedVia.DISCORD)
    except ClubError as error:  # the club is full
        raise Refused(str(error)) from error
    if not created:
        return Reply(content=f"You are already in **{md(club.name)}**.", ephemeral=True)
    return Reply(
        content=f"You joined **{md(club.name)}**. Its members now see your progress on the "
        "nominated album (standings, per-track progress), who-knows play counts, and "
        "comparisons of top artists. `/club leave` stops that at once.",
        ephemeral=True,
    )


def club_leave_run(ix: Interaction, now: datetime) -> Reply:
    club = _club(ix)
    user = _user(ix)
    try:
        member_leave(club=club, user=user)
    except ClubError as error:
        raise Refused(str(error)) from error
    return Reply(content=f"You left **{md(club.name)}**.", ephemeral=True)


HELP = """**Sidetrack** — your club's album, from everyone's scrobbles.
`/connect lastfm|listenbrainz name` · `/link code` · `/club join` · `/club leave`
`/np [member]` now playing or last listen
`/standings` everyone's progress on the nominated album
`/progress [member]` the album's tracklist, heard or not
`/nominate artist album [year]` nominate the club's next album
`/whoknows artist|album|track name` members ranked by plays
`/compare member` taste overlap and shared top artists
Only members who ran `/club join` appear in the club's answers."""


def help_run(ix: Interaction, now: datetime) -> Reply:
    return Reply(content=HELP, ephemeral=True)


COMMANDS: dict[str, Command] = {
    "np": Command(np_run, check=np_check, deferred=True),
    "standings": Command(standings_run),
    "progress": Command(progress_run),
    "nominate": Command(nominate_run, check=nominate_check, deferred=True),
    "whoknows artist": Command(whoknows_run),
    "whoknows album": Command(whoknows_run),
    "whoknows track": Command(whoknows_run),
    "compare": Command(compare_run, check=compare_check),
    "connect lastfm": Command(connect_run, check=connect_check, deferred=True, ephemeral=True),
    "connect listenbrainz": Command(
        connect_run, check=connect_check, deferred=True, ephemeral=True
    ),
    "link": Command(link_run, ephemeral=True),
    "club join": Command(club_join_run, ephemeral=True),
    "club leave": Command(club_leave_run, ephemeral=True),
    "help": Command(help_run, ephemeral=True),
}
# Components, by the custom_id's prefix.
COMPONENTS: dict[str, Command] = {
    NOMINATE_PICK: Command(nominate_pick_run, check=nominate_pick_check, deferred=True),
}


def command_for(ix: Interaction) -> Command | None:
    if ix.custom_id:
        return COMPONENTS.get(ix.custom_id.split(":", 1)[0])
    return COMMANDS.get(ix.command)


def finish(ix: Interaction, command: Command, now: datetime) -> Reply:
    """Run a deferred command to its message: every failure becomes words for the
    user, never silence (the "thinking…" message would otherwise stay forever)."""
    try:
        return command.run(ix, now)
    except Refused as refused:
        return Reply(content=str(refused), ephemeral=command.ephemeral)
    except ClubError as error:
        return Reply(content=str(error), ephemeral=command.ephemeral)
    except ExternalApiError as error:
        service = SERVICE_NAMES.get(error.service, error.service)
        hint = "try again in a minute" if error.retryable else "this will not work as asked"
        logger.warning("discord %s: %s", ix.command or ix.custom_id, error)
        return Reply(
            content=f"{service} did not answer as expected, so nothing was done: {hint}.",
            ephemeral=command.ephemeral,
        )
