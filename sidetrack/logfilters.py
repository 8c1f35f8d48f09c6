from __future__ import annotations

import logging

from sidetrack.http.redaction import redact_text


class RedactSecretsFilter(logging.Filter):
    """Scrubs API keys and tokens from every record before any handler writes it.

    urllib3 logs full request URLs at DEBUG, Last.fm's include ``api_key``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # The traceback too (an exception's text can carry a URL with its key); the
        # formatter prints exc_text as set here instead of formatting it again.
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(_FORMATTER.formatException(record.exc_info))
        return True


_FORMATTER = logging.Formatter()


class DropUrllib3RetryNotices(logging.Filter):
    """urllib3's "Retrying (ServiceRetry(total=2, connect=None, ...)) after ..." warning
    repeats what sidetrack.http already said in one readable line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.name == "urllib3.connectionpool" and str(record.msg).startswith("Retrying (")
        )
