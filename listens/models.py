from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models

from accounts.models import ExternalAccount, ListenSource
from metadata.models import Recording


class Unindexed(models.Func):
    """A column the planner must not drive the query from: on SQLite a unary ``+``
    (a no-op on any value) hides the column's index. SQLite's statistics make
    ``duplicate_of_id IS NULL`` look selective (97% of rows are NULL) and
    ``recording.status`` too, so it would scan those indexes instead of the
    (user, listened_at) one; PostgreSQL estimates them correctly and gets the column."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="+%(expressions)s", **extra)


class ListenQuerySet(models.QuerySet):
    def counted(self, *, hide_index: bool = False) -> ListenQuerySet:
        """The listens that count, the one definition every page, command and answer
        uses: a listen scrobbled to both sources is stored twice and the copy (marked
        ``duplicate_of``) is left out, so it counts once.

        ``hide_index``: the same rows, with the test hidden from SQLite's planner
        (``Unindexed``) for queries that must run from the (user, listened_at) index
        rather than a partial index on counted listens."""
        if hide_index:
            return self.alias(
                copy_of=Unindexed("duplicate_of_id", output_field=models.BigIntegerField())
            ).filter(copy_of__isnull=True)
        return self.filter(duplicate_of__isnull=True)

    def between(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> ListenQuerySet:
        """Listened in [since, until); either bound optional."""
        listens = self
        if since is not None:
            listens = listens.filter(listened_at__gte=since)
        if until is not None:
            listens = listens.filter(listened_at__lt=until)
        return listens


class ListenEvent(models.Model):
    """One scrobble, stored exactly once per external account.

    ``track_key`` is the digest of the normalized artist and track text; with
    the account and timestamp it forms the listen's identity, since several
    scrobbles can share one second but not one second *and* one track.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="listens"
    )
    account = models.ForeignKey(ExternalAccount, on_delete=models.PROTECT, related_name="listens")
    source = models.CharField(max_length=20, choices=ListenSource.choices)
    listened_at = models.DateTimeField()
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="listens")
    track_name = models.TextField()
    artist_name = models.TextField()
    album_name = models.TextField(blank=True)
    track_key = models.CharField(max_length=64)
    raw_payload = models.JSONField(default=dict, blank=True)
    # A listen also scrobbled to the user's other source; kept, but counted once.
    # Indexed only where set (listen_duplicate_of): see the index's comment.
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        db_index=False,
    )
    ingested_at = models.DateTimeField(auto_now_add=True)

    objects = ListenQuerySet.as_manager()

    class Meta:
        ordering = ["-listened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "listened_at", "track_key"], name="listen_unique_per_account"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-listened_at"], name="listen_user_time"),
            models.Index(fields=["account", "-listened_at"], name="listen_account_time"),
            # The API's listen list and stats count each listen once: duplicates
            # are filtered out by the index itself.
            models.Index(
                fields=["user", "-listened_at", "-id"],
                name="listen_user_counted_time",
                condition=models.Q(duplicate_of__isnull=True),
                include=["recording"],
            ),
            models.Index(
                fields=["-listened_at", "-id"],
                name="listen_counted_time",
                condition=models.Q(duplicate_of__isnull=True),
            ),
            # Top recordings: one ordered pass over (user, recording), no sort.
            models.Index(
                fields=["user", "recording"],
                name="listen_user_recording",
                condition=models.Q(duplicate_of__isnull=True),
            ),
            # Only the few duplicates are indexed (deleting a listen finds its copies).
            # A full index on this mostly-NULL column misled SQLite: its statistics
            # count every NULL as a distinct value, so "duplicate_of_id IS NULL" looked
            # like a 30-row lookup and every listen page and stat went through it and
            # sorted the user's whole history (EXPLAIN QUERY PLAN in bench/README.md).
            models.Index(
                fields=["duplicate_of"],
                name="listen_duplicate_of",
                condition=models.Q(duplicate_of__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.artist_name} – {self.track_name} at {self.listened_at:%Y-%m-%d %H:%M:%S}"


class ListenProfile(models.Model):
    """A user's choices about their listens. Private unless they say otherwise:
    ``listens_public`` lets anyone read them through the /1/ API without a token,
    as ListenBrainz serves everyone's."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="listen_profile",
    )
    listens_public = models.BooleanField(
        default=False,
        help_text="Anyone may read these listens through the ListenBrainz-compatible /1/ "
        "API, without a token.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user} ({'public' if self.listens_public else 'private'} listens)"


class IngestRun(models.Model):
    """One ingest of one account: what it fetched, stored and hit."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        INGEST = "ingest", "Ingest from the source"
        IMPORT = "import", "Import of an export file"

    account = models.ForeignKey(
        ExternalAccount, on_delete=models.CASCADE, related_name="ingest_runs"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INGEST)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cursor_before = models.BigIntegerField(null=True, blank=True)
    cursor_after = models.BigIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    listens_new = models.PositiveIntegerField(default=0)
    listens_known = models.PositiveIntegerField(default=0)
    unresolved = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.account} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class TasteSnapshot(models.Model):
    """A Last.fm top-artists or top-albums chart for one period, as fetched."""

    class Kind(models.TextChoices):
        ARTISTS = "artists", "Top artists"
        ALBUMS = "albums", "Top albums"

    class Period(models.TextChoices):
        OVERALL = "overall", "Overall"
        WEEK = "7day", "Last 7 days"
        MONTH = "1month", "Last month"
        QUARTER = "3month", "Last 3 months"
        HALF_YEAR = "6month", "Last 6 months"
        YEAR = "12month", "Last 12 months"

    account = models.ForeignKey(
        ExternalAccount, on_delete=models.CASCADE, related_name="taste_snapshots"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.OVERALL)
    taken_at = models.DateTimeField(auto_now_add=True)
    # [{rank, name, artist_name?, mbid, playcount}] in chart order.
    items = models.JSONField(default=list)

    class Meta:
        ordering = ["-taken_at"]
        indexes = [models.Index(fields=["account", "kind", "period", "-taken_at"])]

    def __str__(self) -> str:
        return f"{self.account} {self.get_kind_display()} ({self.period}) {self.taken_at:%Y-%m-%d}"
