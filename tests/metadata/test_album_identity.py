"""Album-aware track identity: each listen gets the recording its own (artist, title,
album, source MBID) means, whatever another listen of the same text got.

The catalog (``tests.identity_catalog``) is Nirvana's *Nevermind* and *MTV Unplugged
in New York* (the same songs, live, under the same titles), Queen's studio "Bohemian
Rhapsody" and Oasis's "Wonderwall" with a live recording.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from metadata.identity import ReportedTrack, agreed_recordings, store_alias
from metadata.matching import every_album_key_digest
from metadata.models import Recording, RecordingAlias
from tests.identity_catalog import (
    COME_AS_YOU_ARE,
    COME_AS_YOU_ARE_LIVE,
    POLLY,
    POLLY_LIVE,
    T0,
    UNPLUGGED_DISAMBIGUATION,
    WONDERWALL,
    WONDERWALL_LIVE,
    account,
    listen,
    mbids,
    mocked,
    resolve,
    store,
)

pytestmark = pytest.mark.django_db
__all__ = ["account", "mocked"]  # fixtures


def test_polly_on_nevermind_with_its_mbid_is_never_the_unplugged_recording(account, mocked):
    # The first listen of the text is the Unplugged one, and is resolved first.
    first = store(account, listen("Nirvana", "Polly", "MTV Unplugged in New York"))
    resolve()
    assert mbids(first) == [POLLY_LIVE]

    # Last.fm sends the Nevermind recording's MBID with the Nevermind listen.
    later = store(account, listen("Nirvana", "Polly", "Nevermind", hint=POLLY))
    calls = len(mocked.calls)
    resolve()

    assert mbids(later) == [POLLY]
    assert mbids(first) == [POLLY_LIVE]  # the other identity's listens did not move
    # The MBID was checked with one search by id (rid:…), not a lookup.
    (checked,) = [c.request.params["query"] for c in mocked.calls[calls:]]
    assert checked.startswith("rid:(")


def test_a_verified_source_mbid_beats_the_cached_answer_for_the_same_text(account, mocked):
    store(account, listen("Nirvana", "Polly", "Nevermind"))
    resolve()
    # Now both recordings are stored; a listen naming the other one with a known
    # MBID gets it at once, without a request.
    Recording.objects.create(
        mbid=POLLY_LIVE,
        status="resolved",
        title="Polly",
        artist_name="Nirvana",
        disambiguation=UNPLUGGED_DISAMBIGUATION,
    )
    calls = len(mocked.calls)

    unplugged = store(account, listen("Nirvana", "Polly", "MTV Unplugged in New York", POLLY_LIVE))

    assert mbids(unplugged) == [POLLY_LIVE]
    assert len(mocked.calls) == calls


def test_come_as_you_are_on_nevermind_is_studio_and_without_album_left_to_curation(account, mocked):
    listens = store(
        account,
        listen("Nirvana", "Come as You Are", "MTV Unplugged in New York"),
        listen("Nirvana", "Come as You Are", "Nevermind"),
        listen("Nirvana", "Come as You Are"),  # no album, no session: studio or live?
    )

    resolve()

    # Without album (and its neighbour only the same song again) the plain title may
    # be either version: left for a curator rather than guessed (issue 18).
    assert mbids(listens) == [COME_AS_YOU_ARE_LIVE, COME_AS_YOU_ARE, None]
    assert "several versions" in listens[2].recording.last_error
    # One search served the three reports of the text.
    searches = [c for c in mocked.calls if "query=" in c.request.url]
    assert len(searches) == 1


def test_an_albumless_listen_amid_an_album_session_is_that_albums_recording(account, mocked):
    unplugged, nevermind = "MTV Unplugged in New York", "Nevermind"
    listens = store(
        account,
        listen("Nirvana", "Polly", unplugged),
        listen("Nirvana", "Come as You Are"),  # between two Unplugged tracks
        listen("Nirvana", "Polly", unplugged),
        listen("Oasis", "Wonderwall", "(What's the Story) Morning Glory?"),
        listen("Nirvana", "Polly", nevermind, at=T0 + timedelta(days=2)),
        listen("Nirvana", "Come as You Are", at=T0 + timedelta(days=2, seconds=200)),
    )

    resolve()

    # The identity's listens were heard amid one album (the second is the last of its
    # session, its one neighbour on Nevermind): the sessions disagree, so no answer.
    assert mbids(listens)[1] is None
    listens[5].delete()
    Recording.objects.filter(pk=listens[1].recording_id).update(next_attempt_at=None)

    resolve()

    assert mbids(listens[:5]) == [POLLY_LIVE, COME_AS_YOU_ARE_LIVE, POLLY_LIVE, WONDERWALL, POLLY]


def test_an_albumless_listen_opening_an_album_session_is_that_albums_recording(account, mocked):
    listens = store(
        account,
        listen("Oasis", "Wonderwall", "(What's the Story) Morning Glory?"),  # the edge
        listen("Nirvana", "Come as You Are"),  # opens the Unplugged session
        listen("Nirvana", "Polly"),  # this source dropped the album here too: skipped
        listen("Nirvana", "Polly", "MTV Unplugged in New York"),
    )

    resolve()

    assert mbids(listens[:2]) == [WONDERWALL, COME_AS_YOU_ARE_LIVE]


def test_an_albumless_report_does_not_reuse_an_answer_of_another_length(account, mocked):
    store(account, listen("Nirvana", "Come as You Are", "Nevermind"))
    resolve()
    assert Recording.objects.get(mbid=COME_AS_YOU_ARE).length_ms == 200_000

    # 4:30 is not the one answer known for the text (3:20): another version, not reused.
    (albumless,) = store(account, listen("Nirvana", "Come as You Are", duration_ms=270_000))

    assert albumless.recording.mbid is None
    assert albumless.recording.length_ms == 270_000


def test_a_version_in_the_title_never_resolves_to_a_recording_without_it(account, mocked):
    listens = store(
        account,
        listen("Queen", "Bohemian Rhapsody (Live Aid)"),
        listen("Oasis", "Wonderwall (Live)"),
        # remaster: noise, same recording (the album tells it from the live one)
        listen("Oasis", "Wonderwall - Remastered 2014", "(What's the Story) Morning Glory?"),
    )

    resolve()

    assert mbids(listens) == [None, WONDERWALL_LIVE, WONDERWALL]
    rhapsody = Recording.objects.get(title="Bohemian Rhapsody (Live Aid)")
    assert rhapsody.last_error == "no candidate with the same title and artist"


def test_a_live_source_mbid_is_refused_for_a_plain_title_on_the_studio_album(account, mocked):
    # Last.fm keeps one MBID per artist and title: here the Unplugged one.
    listens = store(account, listen("Nirvana", "Polly", "Nevermind", hint=POLLY_LIVE))

    resolve()

    assert mbids(listens) == [POLLY]  # the hint is refused; the album decides


def test_an_albumless_report_reuses_only_an_answer_every_album_agrees_on(account, mocked):
    store(account, listen("Nirvana", "Come as You Are", "Nevermind"))
    resolve()
    calls = len(mocked.calls)

    # Every album answer for the text names the studio recording: reused, no request.
    (albumless,) = store(account, listen("Nirvana", "Come as You Are"))
    assert mbids([albumless]) == [COME_AS_YOU_ARE]
    assert len(mocked.calls) == calls
    # …and recorded as that identity's answer: later album answers do not move it.
    alias = RecordingAlias.objects.get(key=ReportedTrack("Nirvana", "Come as You Are").key)
    assert (str(alias.recording.mbid), alias.decided_by) == (COME_AS_YOU_ARE, "resolver")


def test_a_source_mbid_is_checked_before_a_curators_every_album_answer(account, mocked):
    studio, live = (
        Recording.objects.create(
            mbid=mbid, status="resolved", title="Polly", artist_name="Nirvana", disambiguation=d
        )
        for mbid, d in ((POLLY, ""), (POLLY_LIVE, UNPLUGGED_DISAMBIGUATION))
    )
    text = ReportedTrack("Nirvana", "Polly")
    store_alias(
        key=every_album_key_digest("Nirvana", "Polly"),
        reported=text,
        recording=live,
        decided_by="curator",
        scope="text",
    )

    hinted, plain = store(
        account,
        listen("Nirvana", "Polly", "Nevermind", hint=POLLY),
        listen("Nirvana", "Polly", "Bleach"),
    )

    assert mbids([hinted, plain]) == [POLLY, POLLY_LIVE]


def test_an_albumless_plain_title_does_not_reuse_a_live_albums_answer(account, mocked):
    store(account, listen("Nirvana", "Polly", "MTV Unplugged in New York"))
    resolve()

    # The only album answer is the Unplugged recording: a plain title without album is
    # not bound to it, so it is resolved on its own, and without album, session or
    # length it may be either version: left for a curator (issue 18).
    (albumless,) = store(account, listen("Nirvana", "Polly", at=T0 + timedelta(days=1)))
    assert albumless.recording.mbid is None
    resolve()
    assert mbids([albumless]) == [None]
    assert "several versions" in Recording.objects.get(pk=albumless.recording_id).last_error


def test_an_albumless_report_stays_unresolved_when_the_albums_disagree(account, mocked):
    store(
        account,
        listen("Nirvana", "Polly", "Nevermind"),
        listen("Nirvana", "Polly", "MTV Unplugged in New York"),
    )
    resolve()

    # Two album answers: the album-less report does not take either on trust.
    (albumless,) = store(account, listen("Nirvana", "Polly"))
    assert albumless.recording.mbid is None
    assert albumless.recording.text_key == albumless.track_key


def test_a_plain_polly_without_album_carrying_the_unplugged_mbid_is_not_verified(account, mocked):
    # Last.fm keeps one MBID per artist and title: a plain "Polly" with no album may
    # carry the MTV Unplugged recording's. The version check holds without an album too.
    (plain,) = store(account, listen("Nirvana", "Polly", hint=POLLY_LIVE))

    resolve()

    assert mbids([plain]) == [None]
    assert not RecordingAlias.objects.filter(recording__mbid=POLLY_LIVE).exists()
    # On the Unplugged album the same MBID is verified.
    (unplugged,) = store(
        account, listen("Nirvana", "Polly", "MTV Unplugged in New York", POLLY_LIVE)
    )
    resolve()
    assert mbids([unplugged]) == [POLLY_LIVE]


def test_an_albumless_report_does_not_reuse_an_answer_known_only_from_the_single():
    studio = Recording.objects.create(
        mbid=WONDERWALL, status="resolved", title="Wonderwall", artist_name="Oasis"
    )
    albumless = ReportedTrack("Oasis", "Wonderwall")

    def answered(album: str) -> None:
        reported = ReportedTrack("Oasis", "Wonderwall", album)
        store_alias(key=reported.key, reported=reported, recording=studio, decided_by="resolver")

    # Heard on the single named after the song: its version or the album's, who knows.
    answered("Wonderwall")
    assert agreed_recordings([albumless]) == {}
    # Heard on the album too, and both name one recording: reused.
    answered("(What's the Story) Morning Glory?")
    assert agreed_recordings([albumless]) == {albumless.key: studio}
