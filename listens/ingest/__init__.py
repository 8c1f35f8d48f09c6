"""Listen ingest: every scrobble stored exactly once, whatever the network does.

One idea a module:

- ``payloads``: what a source reported, cleaned into one shape (``IncomingListen``);
- ``paging``: walking a source's history in pages, and reading ahead on a thread;
- ``store``: the one store path (resolution, insert, duplicate marking) that the
  pollers, the export importer and the submit API (``listens.submit``) all call;
- ``claims``: one ingest per account at a time, across hosts;
- ``run``: one account's ingest, from its cursor to now.

Invariants (each has a test):
- The account's cursor (``last_ingested_ts`` = every listen at or before it is
  stored) moves in the same transaction as the page that justifies it, so a
  crash anywhere loses nothing: the next run starts from the cursor.
- A unique constraint on (account, listened_at, track text) makes re-fetching
  harmless: the page insert (``ON CONFLICT DO NOTHING``) skips what is stored.
- Last.fm runs are bounded by ``to`` = run start and walk pages oldest first
  (as ListenBrainz's own importer does), so arrivals during paging are left
  for the next run and the cursor can advance after every page.
- ListenBrainz pages oldest first with ``min_ts`` (exclusive); the next page
  starts one second *before* the newest listen seen, so listens sharing that
  second across a page boundary are all kept.
- One ingest per account at a time, across hosts: an expiring claim on the
  account row (renewed every batch), plus the constraint as the last word.

For speed (bench/ingest.py), pages are stored in batches of about
``settings.INGEST_BATCH_LISTENS`` listens, one transaction each, while the next page is
fetched and parsed on a thread; a run remembers the recordings of texts it has
seen, so a batch looks up only texts new to the run.
"""
