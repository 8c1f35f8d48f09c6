"""Static files storage: WhiteNoise's compressed, hashed names once collected."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from the manifest that ``collectstatic`` writes; before it has
    run, the plain names, so that the admin and /api/docs/ still render (without
    their files until they are collected) instead of failing with "Missing
    staticfiles manifest entry"."""

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:  # no manifest yet
            return name
        return super().stored_name(name)
