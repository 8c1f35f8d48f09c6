"""Serializers of metadata values that several APIs answer with (album search results
appear in metadata's search and in a club's nomination that needs a choice)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from metadata.matching import AlbumChoice


class AlbumCandidateSerializer(serializers.Serializer):
    mbid = serializers.UUIDField()
    title = serializers.CharField()
    artist_credit = serializers.CharField()
    first_release_date = serializers.CharField(allow_null=True)
    primary_type = serializers.CharField(allow_null=True)
    secondary_types = serializers.ListField(child=serializers.CharField())
    reasons = serializers.ListField(child=serializers.CharField())


class AlbumSearchSerializer(serializers.Serializer):
    confident = serializers.BooleanField(help_text="True when the first candidate can be taken.")
    reason = serializers.CharField()
    candidates = AlbumCandidateSerializer(many=True, help_text="Best first.")


def album_choice_data(choice: AlbumChoice) -> dict[str, Any]:
    return {
        "confident": choice.confident,
        "reason": choice.reason,
        "candidates": [
            {
                "mbid": ranked.candidate.mbid,
                "title": ranked.candidate.title,
                "artist_credit": ranked.candidate.credit_display,
                "first_release_date": ranked.candidate.first_release_date,
                "primary_type": ranked.candidate.primary_type,
                "secondary_types": list(ranked.candidate.secondary_types),
                "reasons": list(ranked.reasons),
            }
            for ranked in choice.ranked
        ],
    }
