"""A user's listen profile: whether their listens are readable without a token
(private by default). One reader and one writer, whatever the door (API, admin)."""

from __future__ import annotations

from typing import Any

from listens.models import ListenProfile


def listens_public(*, user: Any) -> bool:
    """Whether ``user`` lets anyone read their listens; no row means private."""
    return ListenProfile.objects.filter(user_id=user.pk, listens_public=True).exists()


def listen_profile_get(*, user: Any) -> ListenProfile:
    """``user``'s profile as stored, or the private default (unsaved)."""
    return ListenProfile.objects.filter(user_id=user.pk).first() or ListenProfile(user=user)


def listen_profile_update(*, user: Any, listens_public: bool) -> ListenProfile:
    profile, _ = ListenProfile.objects.update_or_create(
        user=user, defaults={"listens_public": listens_public}
    )
    return profile
