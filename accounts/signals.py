"""What accounts announce to the apps that act on accounts (accounts imports none)."""

from __future__ import annotations

from django.dispatch import Signal

# An account was connected for the first time (account_id=…, source=…), sent after
# the transaction commits. The listens app takes Last.fm's first taste snapshot.
account_connected = Signal()

# Someone asked for an ingest of account_id now; the ingest must be queued under the
# name ``queued_as`` (which ``ingest_started`` is later called with). A receiver
# that fails makes the request fail: nothing was queued.
ingest_requested = Signal()

# Which ingest of account_id is running now? Receivers answer with its run's id or None.
running_ingest_wanted = Signal()
