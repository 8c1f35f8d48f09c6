"""The HTTP layer every external API client uses, one module per idea:

- :mod:`sidetrack.http.errors`: ``ExternalApiError`` and the subclasses callers act on;
- :mod:`sidetrack.http.redaction`: secrets out of texts, URLs and payloads;
- :mod:`sidetrack.http.deadline`: one deadline for a web request's upstream calls;
- :mod:`sidetrack.http.transport`: ``ServiceHttp`` (session, timeouts, retries);
- :mod:`sidetrack.http.ratelimit`: the rate limit shared through the cache;
- :mod:`sidetrack.http.options`: the shared HTTP settings every client takes.

It knows no domain, no settings and no models.
"""

from __future__ import annotations
