"""The hostile-request suite: what a stranger, a plain user or a staff user without
permissions tries against someone else. Runs alone: ``scripts/test tests/security``."""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401 - fixtures re-exported for these tests
    CURATION_PERMISSIONS,
    as_alice,
    as_bob,
    client_for,
    fast_password_hashing,
    grant,
    make_account,
    make_listen,
    unresolved_recording,
)
