"""MusicBrainz-normalized metadata.

Canonical keys are MusicBrainz MBIDs. A track no source could tie to an MBID
yet is a ``Recording`` without one, keyed by its identity (normalized artist, title
and album, and the source's MBID), so one later resolution or curation fixes every
listen of it, and none of another album's.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Artist(models.Model):
    mbid = models.UUIDField(unique=True, verbose_name="MBID")
    name = models.CharField(max_length=1000)
    sort_name = models.CharField(max_length=1000, blank=True)
    disambiguation = models.CharField(max_length=1000, blank=True)
    type = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_name", "name"]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.disambiguation})" if self.disambiguation else self.name


class ArtistCredit(models.Model):
    """An artist credit as MusicBrainz gives it: credited names and join phrases.

    Shared by every release group, release and recording with the same credit;
    ``key`` is a digest of the ordered (artist MBID, credited name, join phrase)
    parts.
    """

    key = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=2000, help_text="Display form: names and join phrases.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ArtistCreditName(models.Model):
    credit = models.ForeignKey(ArtistCredit, on_delete=models.CASCADE, related_name="names")
    position = models.PositiveSmallIntegerField()
    artist = models.ForeignKey(Artist, on_delete=models.PROTECT, related_name="credit_names")
    name = models.CharField(max_length=1000, help_text="The name as credited.")
    join_phrase = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["credit_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit", "position"], name="artist_credit_name_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}{self.join_phrase}"


class ReleaseGroup(models.Model):
    mbid = models.UUIDField(unique=True, verbose_name="MBID")
    title = models.CharField(max_length=1000)
    artist_credit = models.ForeignKey(
        ArtistCredit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    primary_type = models.CharField(max_length=50, blank=True)
    secondary_types = models.JSONField(default=list, blank=True)
    # Partial dates as MusicBrainz gives them: YYYY, YYYY-MM or YYYY-MM-DD.
    first_release_date = models.CharField(max_length=10, blank=True)
    disambiguation = models.CharField(max_length=1000, blank=True)
    preferred_release = models.ForeignKey(
        "Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["title"])]

    def __str__(self) -> str:
        credit = f"{self.artist_credit} – " if self.artist_credit_id else ""
        return f"{credit}{self.title}"


class Release(models.Model):
    mbid = models.UUIDField(unique=True, verbose_name="MBID")
    release_group = models.ForeignKey(
        ReleaseGroup, on_delete=models.CASCADE, related_name="releases"
    )
    title = models.CharField(max_length=1000)
    artist_credit = models.ForeignKey(
        ArtistCredit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    date = models.CharField(max_length=10, blank=True)
    country = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=50, blank=True)
    barcode = models.CharField(max_length=255, blank=True)
    tracklist_fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["release_group_id", "date", "mbid"]

    def __str__(self) -> str:
        details = ", ".join(part for part in (self.country, self.date) if part)
        return f"{self.title} ({details})" if details else self.title


class Recording(models.Model):
    """A recording, resolved (has an MBID) or not yet.

    Every row has exactly one identity: its MBID, or while it has none, the
    digest of the identity it was reported with (``matching.identity_key_digest``:
    normalized artist, title and album, and the source's MBID).
    """

    class Status(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        UNRESOLVED = "unresolved", "Unresolved"
        NOT_IN_MUSICBRAINZ = "not_in_musicbrainz", "Not in MusicBrainz"

    mbid = models.UUIDField(unique=True, null=True, blank=True, verbose_name="MBID")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UNRESOLVED)
    title = models.CharField(max_length=1000)
    # Display credit: MusicBrainz's for resolved rows, the source's text otherwise.
    artist_name = models.CharField(max_length=2000, blank=True)
    artist_credit = models.ForeignKey(
        ArtistCredit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    length_ms = models.PositiveIntegerField(null=True, blank=True)
    disambiguation = models.CharField(max_length=1000, blank=True)
    unresolved_key = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="Digest of the reported artist, title, album and source MBID; set only "
        "while there is no MBID.",
    )
    # Digest of the normalized artist and title alone, for unresolved rows: the
    # reports of one text on every album ("every album" curation).
    text_key = models.CharField(max_length=64, blank=True, db_index=True)
    # As reported, for unresolved rows (part of their identity): album context and
    # curators use them.
    album_name = models.CharField(max_length=1000, blank=True)
    # ``matching.album_key(album_name)``: pages find an album's listens waiting for
    # curation from these rows instead of grouping every listen's album text.
    album_key = models.CharField(max_length=500, blank=True)
    # The MBID the source attached (part of the identity): checked before any search.
    hint_mbid = models.UUIDField(null=True, blank=True, verbose_name="source MBID hint")
    resolution_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="Unresolved rows are retried from then on."
    )
    last_error = models.TextField(blank=True, help_text="Why the last attempt found nothing.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(mbid__isnull=False, unresolved_key__isnull=True, status="resolved")
                    | (
                        models.Q(mbid__isnull=True, unresolved_key__isnull=False)
                        & ~models.Q(status="resolved")
                    )
                ),
                name="recording_identity_is_mbid_xor_text",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="recording_retry_queue"),
            models.Index(
                fields=["album_key"],
                name="recording_waiting_album",
                condition=models.Q(status="unresolved"),
            ),
        ]

    def __str__(self) -> str:
        by = f"{self.artist_name} – " if self.artist_name else ""
        return f"{by}{self.title}"

    @property
    def is_resolved(self) -> bool:
        return self.mbid is not None


class Track(models.Model):
    """One line of a release's tracklist."""

    mbid = models.UUIDField(unique=True, null=True, blank=True, verbose_name="track MBID")
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="tracks")
    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="tracks")
    medium_position = models.PositiveSmallIntegerField()
    medium_format = models.CharField(max_length=100, blank=True)
    position = models.PositiveSmallIntegerField()
    number = models.CharField(max_length=20, blank=True, help_text="As printed, e.g. A1.")
    title = models.CharField(max_length=1000)
    length_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["release_id", "medium_position", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "medium_position", "position"], name="track_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.medium_position}.{self.position} {self.title}"


class RecordingAlias(models.Model):
    """A reported identity (artist, title, album, source MBID) → the recording it means.

    The resolution cache: an identity resolved once is never resolved again, and a
    curator's decision applies to every future listen of it. A curator's decision
    for "every album" has scope ``text``: it applies to the text on any album
    without an answer of its own.
    """

    class DecidedBy(models.TextChoices):
        RESOLVER = "resolver", "Resolver"
        SOURCE_MBID = "source_mbid", "Verified source MBID"
        CURATOR = "curator", "Curator"

    class Scope(models.TextChoices):
        IDENTITY = "identity", "This album (and source MBID)"
        TEXT = "text", "Every album"

    key = models.CharField(max_length=64, unique=True)
    # Digest of the normalized artist and title: the answers of one text on every
    # album, compared before an album-less report reuses them.
    text_key = models.CharField(max_length=64, db_index=True, blank=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.IDENTITY)
    artist_name = models.CharField(max_length=2000, blank=True)
    track_name = models.CharField(max_length=1000, blank=True)
    album_name = models.CharField(max_length=1000, blank=True)
    # matching.album_key of album_name: "" for a report without album.
    album_key = models.CharField(max_length=500, blank=True)
    hint_mbid = models.UUIDField(null=True, blank=True, verbose_name="source MBID")
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="aliases")
    decided_by = models.CharField(max_length=20, choices=DecidedBy.choices)
    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "recording aliases"

    def __str__(self) -> str:
        album = f" ({self.album_name})" if self.album_name else ""
        return f"{self.artist_name} – {self.track_name}{album} → {self.recording_id}"


class UnresolvedRecordingManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(mbid__isnull=True)


class UnresolvedRecording(Recording):
    """Recordings without an MBID, for the curators' "Unresolved tracks" admin."""

    objects = UnresolvedRecordingManager()

    class Meta:
        proxy = True
        verbose_name = "unresolved track"
        verbose_name_plural = "unresolved tracks"


class CurationDecision(models.Model):
    """What a curator decided about one reported text, and what it was before."""

    class Action(models.TextChoices):
        ASSIGN = "assign", "Assigned an MBID"
        NOT_IN_MUSICBRAINZ = "not_in_musicbrainz", "Marked not in MusicBrainz"
        MERGE = "merge", "Merged into another track"

    curator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    # The text as reported, kept even when the recording row is merged away.
    artist_name = models.CharField(max_length=2000, blank=True)
    track_name = models.CharField(max_length=1000, blank=True)
    album_name = models.CharField(max_length=1000, blank=True)
    text_key = models.CharField(max_length=64, blank=True, db_index=True)
    scope = models.CharField(
        max_length=10,
        choices=RecordingAlias.Scope.choices,
        default=RecordingAlias.Scope.IDENTITY,
    )
    mbid = models.UUIDField(null=True, blank=True, verbose_name="chosen MBID")
    previous_status = models.CharField(max_length=20, choices=Recording.Status.choices, blank=True)
    # The recording the text now belongs to; follows merges (merge_recordings).
    recording = models.ForeignKey(
        Recording,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="curation_decisions",
    )
    listen_count = models.PositiveIntegerField(default=0, help_text="Listens it applied to.")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.artist_name} – {self.track_name}"
