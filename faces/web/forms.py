"""Forms of the members' web: input checks only; the services decide."""

from __future__ import annotations

from django import forms
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
