"""Local emulator of Last.fm, ListenBrainz and MusicBrainz for end-to-end tests and benches.

world = World.synthetic(seed=1, n_users=1, listens_per_user=500)
with Emulator(world) as emu:
    env = emu.env  # LASTFM_BASE_URL, LISTENBRAINZ_BASE_URL, MUSICBRAINZ_BASE_URL
    emu.faults.add("http_503", service="musicbrainz", retry_after=1)
"""

from __future__ import annotations

from tests.emulator.data import (
    Catalog,
    EmuArtist,
    EmuRecording,
    EmuRelease,
    EmuReleaseGroup,
    EmuScrobble,
    EmuTrack,
    EmuUser,
    History,
    World,
    make_credit,
    make_mbid,
)
from tests.emulator.faults import Arrival, Fault, FaultKind, FaultPlan
from tests.emulator.server import Emulator, EmulatorConfig, LoggedRequest

__all__ = [
    "Arrival",
    "Catalog",
    "EmuArtist",
    "EmuRecording",
    "EmuRelease",
    "EmuReleaseGroup",
    "EmuScrobble",
    "EmuTrack",
    "EmuUser",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "History",
    "LoggedRequest",
    "World",
    "make_credit",
    "make_mbid",
]
