"""A club's members and invitations page: the owner invites (the link shown once),
revokes and removes; members read who is in; everyone else gets 404."""

from __future__ import annotations

import re
from html import escape

import pytest
from django.test import Client

from clubs.models import Club, Invitation, Membership
from clubs.services import MEMBERS_SEE
from tests.web.conftest import make_club, signed_in, tables

pytestmark = pytest.mark.django_db

LINK = re.compile(r'data-testid="new-invitation">(http://testserver/join/([^/<]+)/)<')


def _legacy_club(alice, bob) -> Club:
    club = Club.objects.create(name="Sunday Album Club", owner=alice)
    Membership.objects.create(club=club, user=alice, joined_via=Membership.JoinedVia.OWNER)
    Membership.objects.create(club=club, user=bob, joined_via=Membership.JoinedVia.LEGACY)
    return club


def test_owner_sees_members_with_how_they_joined_and_legacy_ones_marked(web_alice, alice, bob):
    club = _legacy_club(alice, bob)
    page = web_alice.get(f"/clubs/{club.pk}/members/")
    assert page.status_code == 200
    rows = tables(page.content)["members"]
    assert [(r[0], r[2]) for r in rows] == [
        ("alice", "created the club"),
        ("bob", "Legacy: added by the owner, without an invitation"),
    ]
    assert rows[0][3] == "Owner"
    assert rows[1][3] == "Remove"
    club_page = web_alice.get(f"/clubs/{club.pk}/").content.decode()
    assert f'href="/clubs/{club.pk}/members/"' in club_page


def test_a_member_reads_the_list_without_owner_controls(web_bob, alice, bob):
    club = _legacy_club(alice, bob)
    page = web_bob.get(f"/clubs/{club.pk}/members/")
    text = page.content.decode()
    assert page.status_code == 200
    assert [r[0] for r in tables(text)["members"]] == ["alice", "bob"]
    assert all(len(r) == 3 for r in tables(text)["members"])
    assert "Create an invitation link" not in text
    assert "Remove" not in text
    assert "Only the club's owner invites and removes members." in text
    # The club page links there for the owner only.
    assert (
        f'href="/clubs/{club.pk}/members/"'
        not in web_bob.get(f"/clubs/{club.pk}/").content.decode()
    )


def test_someone_outside_the_club_gets_404_for_every_members_page_action(alice, bob, carol):
    club = make_club(alice, bob)
    outsider = signed_in(carol)
    assert outsider.get(f"/clubs/{club.pk}/members/").status_code == 404
    assert (
        outsider.post(
            f"/clubs/{club.pk}/invitations/", {"max_uses": 1, "expires_in_days": 7}
        ).status_code
        == 404
    )
    assert (
        outsider.post(f"/clubs/{club.pk}/members/remove/", {"username": "bob"}).status_code == 404
    )
    assert outsider.post(f"/clubs/{club.pk}/discord-code/").status_code == 404
    assert not Invitation.objects.exists()
    assert Membership.objects.filter(club=club, user=bob).exists()


def test_anonymous_visitors_are_sent_to_sign_in(alice):
    club = make_club(alice)
    page = Client().get(f"/clubs/{club.pk}/members/")
    assert page.status_code == 302
    assert page["Location"].startswith("/signin/")


def test_owner_creates_an_invitation_link_shown_once_that_a_new_person_can_use(
    web_alice, alice, bob
):
    club = make_club(alice, bob)
    made = web_alice.post(
        f"/clubs/{club.pk}/invitations/",
        {"invitee_username": "", "max_uses": 3, "expires_in_days": 2},
    )
    text = made.content.decode()
    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    link, code = LINK.search(text).groups()
    assert escape(MEMBERS_SEE) in text
    invitation = Invitation.objects.get(club=club)
    assert (invitation.max_uses, invitation.invitee_name) == (3, "")
    assert code.startswith(invitation.prefix)
    assert code not in invitation.digest
    # Listed as open, by prefix only; the link is never shown again.
    again = web_alice.get(f"/clubs/{club.pk}/members/").content.decode()
    assert code not in again
    [row] = tables(again)["invitations"]
    assert row[:3] == [f"{invitation.prefix}…", "anyone with the link", "0 of 3"]
    # The link is the sign-up-by-invitation page.
    assert Client().get(link.removeprefix("http://testserver")).status_code == 200


def test_an_addressed_invitation_shows_who_it_is_for(web_alice, alice):
    club = make_club(alice)
    made = web_alice.post(
        f"/clubs/{club.pk}/invitations/",
        {"invitee_username": "dora", "max_uses": 1, "expires_in_days": 7},
    )
    assert "Your new invitation link for dora" in made.content.decode()
    [row] = tables(web_alice.get(f"/clubs/{club.pk}/members/").content)["invitations"]
    assert row[1] == "dora"


def test_bad_invitation_input_is_explained_and_nothing_is_made(web_alice, alice):
    club = make_club(alice)
    made = web_alice.post(f"/clubs/{club.pk}/invitations/", {"max_uses": 0, "expires_in_days": ""})
    assert made.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in made.content.decode()
    assert "This field is required." in made.content.decode()
    assert not Invitation.objects.exists()


def test_the_open_invitations_cap_is_a_plain_message(web_alice, alice, settings):
    settings.MAX_OPEN_INVITATIONS_PER_CLUB = 1
    club = make_club(alice)
    form = {"max_uses": 1, "expires_in_days": 7}
    assert web_alice.post(f"/clubs/{club.pk}/invitations/", form).status_code == 200
    refused = web_alice.post(f"/clubs/{club.pk}/invitations/", form)
    text = refused.content.decode()
    assert refused.status_code == 409
    assert "This club has 1 open invitations, the most allowed; revoke one first." in text
    assert 'data-testid="new-invitation"' not in text
    assert Invitation.objects.count() == 1


def test_a_member_cannot_invite_and_is_told_why(web_bob, alice, bob):
    club = make_club(alice, bob)
    refused = web_bob.post(f"/clubs/{club.pk}/invitations/", {"max_uses": 1, "expires_in_days": 7})
    assert refused.status_code == 403
    assert "Only the club&#x27;s owner may do this." in refused.content.decode()
    assert not Invitation.objects.exists()


def test_owner_revokes_an_invitation_and_its_link_stops_working(web_alice, alice):
    club = make_club(alice)
    made = web_alice.post(f"/clubs/{club.pk}/invitations/", {"max_uses": 1, "expires_in_days": 7})
    link, _ = LINK.search(made.content.decode()).groups()
    invitation = Invitation.objects.get()
    revoked = web_alice.post(f"/clubs/{club.pk}/invitations/{invitation.pk}/revoke/", follow=True)
    text = revoked.content.decode()
    assert f"Revoked the invitation {invitation.prefix}…; it no longer works." in text
    assert "No open invitations." in text
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert Client().get(link.removeprefix("http://testserver")).status_code == 404


def test_owner_removes_a_member_who_then_loses_the_club(web_alice, alice, bob):
    club = make_club(alice, bob)
    removed = web_alice.post(f"/clubs/{club.pk}/members/remove/", {"username": "bob"}, follow=True)
    text = removed.content.decode()
    assert "Removed bob from Sunday Album Club." in text
    assert [r[0] for r in tables(text)["members"]] == ["alice"]
    assert signed_in(bob).get(f"/clubs/{club.pk}/").status_code == 404


def test_a_member_cannot_remove_another(web_bob, alice, bob, carol):
    club = make_club(alice, bob, carol)
    refused = web_bob.post(f"/clubs/{club.pk}/members/remove/", {"username": "carol"}, follow=True)
    assert "Only the club&#x27;s owner may do this." in refused.content.decode()
    assert Membership.objects.filter(club=club, user=carol).exists()
