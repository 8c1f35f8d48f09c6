from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class ListenSource(models.TextChoices):
    LASTFM = "lastfm", "Last.fm"
    LISTENBRAINZ = "listenbrainz", "ListenBrainz"
    # Listens a player sent to Sidetrack's ListenBrainz-compatible /1/ API: one
    # account per user, made on the first submission, never polled.
    SUBMITTED = "submitted", "Submitted (ListenBrainz API)"


# The sources Sidetrack reads by polling a user's name there.
POLLED_SOURCES = (ListenSource.LASTFM, ListenSource.LISTENBRAINZ)
POLLED_SOURCE_CHOICES = [(source.value, source.label) for source in POLLED_SOURCES]


class ExternalAccount(models.Model):
    """A user's name on one listen source, with where ingest got to and how it went."""

    class Status(models.TextChoices):
        NEW = "new", "New (never ingested)"
        OK = "ok", "OK"
        RETRYING = "retrying", "Transient failure (will retry)"
        ERROR = "error", "Error (needs attention)"
        DISABLED = "disabled", "Disabled"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_accounts"
    )
    source = models.CharField(max_length=20, choices=ListenSource.choices)
    external_username = models.CharField(max_length=255)
    # UTC unix seconds: every listen at or before this instant is stored.
    last_ingested_ts = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_ingest_started_at = models.DateTimeField(null=True, blank=True)
    last_ingest_finished_at = models.DateTimeField(null=True, blank=True)
    # One ingest per account at a time across every worker and host: a claim
    # with an expiry that a running ingest renews after each page, so a killed
    # worker's claim lapses on its own.
    ingest_claimed_until = models.DateTimeField(null=True, blank=True)
    ingest_claim_token = models.CharField(max_length=64, blank=True)
    # Set when the user proved the name is theirs (Last.fm's web authentication):
    # a proven name is nobody else's to connect.
    proven_at = models.DateTimeField(null=True, blank=True)
    # Set when another user proved this name theirs: the account was disabled then.
    taken_over_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id", "source", "external_username"]
        constraints = [
            # One owner per proven name, whichever worker or host records the proof.
            models.UniqueConstraint(
                "source",
                Lower("external_username"),
                condition=models.Q(proven_at__isnull=False),
                name="external_account_one_proven_owner",
            ),
            # Last.fm and ListenBrainz names are case-insensitive.
            models.UniqueConstraint(
                "user",
                "source",
                Lower("external_username"),
                name="external_account_unique_per_user_source_name",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=ListenSource.values),
                name="external_account_known_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_username} on {self.get_source_display()} ({self.user})"

    @property
    def enabled(self) -> bool:
        return self.status != self.Status.DISABLED

    @property
    def proven(self) -> bool:
        return self.proven_at is not None

    @property
    def cursor(self) -> datetime | None:
        if self.last_ingested_ts is None:
            return None
        return datetime.fromtimestamp(self.last_ingested_ts, tz=UTC)


class HashedToken(models.Model):
    """A secret a user's client presents, of which only a SHA-256 digest is stored: the
    secret is shown once, when made (``accounts.tokens``); ``prefix`` (its first
    characters) tells a user's tokens apart. Each kind names its own ``user`` field,
    for its own ``related_name``."""

    user: models.ForeignKey
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most once per ``accounts.tokens.LAST_USED_RESOLUTION``.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class Revocable(models.Model):
    """A credential that stops working when revoked; the row stays, with the first
    revocation time."""

    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class SubmissionToken(HashedToken, Revocable):
    """A token a player or script uses to submit listens for its user through the
    ListenBrainz-compatible /1/ API."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submission_tokens"
    )
    name = models.CharField(max_length=100, blank=True, help_text="What uses it, e.g. Navidrome.")

    class Meta:
        ordering = ["user_id", "-created_at"]


class ScrobbleApiKey(Revocable):
    """An API key and secret Sidetrack issued for the Last.fm-protocol endpoint (/2.0/).
    Requests made with it must be signed (``api_sig``); the secret is kept as is because
    checking a signature needs it (Last.fm's scheme is md5 over params + secret)."""

    name = models.CharField(max_length=100, help_text="The client it is for, e.g. MyPlayer.")
    key = models.CharField(max_length=32, unique=True, editable=False)
    secret = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "Last.fm-protocol API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.key[:8]}…)"


class ScrobbleSession(HashedToken, Revocable):
    """A session key a Last.fm-protocol client scrobbles with (``sk``). ``api_key`` is
    set when the session was made through a key Sidetrack issued: the session then
    works only with that key, signed, so a leaked session key alone cannot skip the
    signature."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scrobble_sessions"
    )
    name = models.CharField(max_length=100, blank=True, help_text="What uses it.")
    api_key = models.CharField(max_length=32, blank=True, editable=False)

    class Meta:
        ordering = ["user_id", "-created_at"]
        verbose_name = "Last.fm-protocol session key"


class ScrobbleAuthRequest(models.Model):
    """A request token of the desktop/web flow (``auth.getToken``): a signed-in user
    approves or denies it on Sidetrack's page, then the client trades it once for a
    session key (``auth.getSession``). Stored as a digest; it expires after an hour."""

    digest = models.CharField(max_length=64, unique=True, editable=False)
    api_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    denied_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"request for {self.api_key[:8]}… ({self.created_at:%Y-%m-%d %H:%M})"


class ApiToken(HashedToken):
    """A login token for the REST API (``Authorization: Token …``), issued by
    ``POST /api/auth/token/``; a copy of the database holds no working login. Not
    revoked but deleted: only the newest few of a user's tokens are kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )

    class Meta:
        ordering = ["user_id", "-created_at"]
        verbose_name = "API token"
