"""Forms of the members' web: input checks only; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm

from accounts.models import POLLED_SOURCE_CHOICES


class SignUpForm(UserCreationForm):
    """A username and a password twice, checked by the configured password validators."""


class ConnectForm(forms.Form):
    source = forms.ChoiceField(choices=POLLED_SOURCE_CHOICES, label="Service")
    external_username = forms.CharField(
        max_length=255, label="Your user name there", help_text="As it appears in your profile URL."
    )


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        label="Name",
        help_text="What will use it, so you know which to revoke (for example Navidrome).",
    )


class AlbumSearchForm(forms.Form):
    artist = forms.CharField(max_length=500, label="Artist")
    title = forms.CharField(max_length=500, label="Album title")
    year = forms.IntegerField(
        min_value=1,
        max_value=9999,
        required=False,
        label="Year (optional)",
        help_text="The first release's year, when several albums share the title.",
    )


class NominateForm(forms.Form):
    release_group_mbid = forms.UUIDField()


class InvitationForm(forms.Form):
    invitee_username = forms.CharField(
        max_length=150,
        required=False,
        label="For one person (optional)",
        help_text="Their Sidetrack user name: only they can use it. Leave empty for a link "
        "anyone holding it can use.",
    )
    max_uses = forms.IntegerField(
        min_value=1, max_value=1000, initial=1, label="How many people may join with it"
    )
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=365, label="Expires in (days)", help_text="From now."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_in_days"].initial = settings.CLUB_INVITATION_DAYS
