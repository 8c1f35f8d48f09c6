"""The clubs admin: lists, change pages with members and nominations inline."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.clubs.conftest import make_club, nominate

pytestmark = pytest.mark.django_db


def test_club_pages_show_members_and_nominations(admin_client, world, alice, bob):
    club = make_club(alice, bob)
    nominate(club, world.studio)

    listing = admin_client.get(reverse("admin:clubs_club_changelist"))
    change = admin_client.get(reverse("admin:clubs_club_change", args=[club.pk]))
    nominations = admin_client.get(reverse("admin:clubs_nomination_changelist"))

    assert listing.status_code == change.status_code == nominations.status_code == 200
    assert "Sunday Album Club" in listing.text
    assert listing.context["cl"].result_list[0].member_total == 2
    assert "bob" in change.text
    assert "Night Drive" in nominations.text
