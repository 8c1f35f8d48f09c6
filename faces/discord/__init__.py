"""Sidetrack on Discord: the signed HTTP interactions endpoint and its slash commands."""
