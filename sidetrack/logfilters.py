from __future__ import annotations

import logging

from sidetrack.http import redact_text


class RedactSecretsFilter(logging.Filter):
    """Scrubs API keys and tokens from every record before any handler writes it.

    urllib3 logs full request URLs at DEBUG, Last.fm's include ``api_key``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
