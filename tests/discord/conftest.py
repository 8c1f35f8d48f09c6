from __future__ import annotations

import pytest

from tests.emulator.discord import DiscordEmulator


@pytest.fixture
def discord(settings):
    """Discord's side, running, with Sidetrack's settings pointing at it."""
    with DiscordEmulator() as emulator:
        for name, value in emulator.settings.items():
            setattr(settings, name, value)
        settings.HTTP_MAX_RETRIES = 2
        settings.HTTP_BACKOFF_FACTOR = 0
        yield emulator
