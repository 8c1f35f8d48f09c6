"""Request body parsers for the REST API (DEFAULT_PARSER_CLASSES)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser


class DepthSafeJSONParser(JSONParser):
    """DRF's JSON parser, with absurd nesting (50,000 ``[``) a parse error: Python's
    ``json`` recurses once per level and raises ``RecursionError``, not ``ValueError``."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


# Kept apart from sidetrack.api: DRF's APIView reads DEFAULT_PARSER_CLASSES while
# rest_framework.views is first imported, which sidetrack.api itself does.
API_PARSERS = (DepthSafeJSONParser, FormParser, MultiPartParser)
