"""Joining a club from an invitation link: the person's own act, through the clubs'
consent flow (issue 17's services), never by someone else's hand."""

from __future__ import annotations

import pytest
from django.test import Client

from clubs.models import Membership
from clubs.services import club_create, invitation_create
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db

SIGN_UP = {"username": "dora", "password1": "a-long-passphrase", "password2": "a-long-passphrase"}


@pytest.fixture
def club(alice):
    return club_create(name="Tuesday Albums", owner=alice)


def test_a_new_person_signs_up_from_the_link_and_joins_in_one_step(club, alice, django_user_model):
    _, code = invitation_create(club=club, actor=alice)
    browser = Client()
    page = browser.get(f"/join/{code}/")
    assert page.status_code == 200
    assert b"Tuesday Albums" in page.content
    assert b"Leaving the club takes effect at once" in page.content  # what members see

    response = browser.post(f"/join/{code}/", SIGN_UP)

    dora = django_user_model.objects.get(username="dora")
    membership = Membership.objects.get(club=club, user=dora)
    assert membership.joined_via == Membership.JoinedVia.INVITATION
    assert response["Location"] == f"/clubs/{club.pk}/"
    assert browser.get(response["Location"]).status_code == 200  # signed in, a member


def test_a_used_up_link_creates_no_login(club, alice, django_user_model):
    _, code = invitation_create(club=club, actor=alice, max_uses=1)
    Client().post(f"/join/{code}/", SIGN_UP)
    response = Client().post(f"/join/{code}/", {**SIGN_UP, "username": "eve"})
    assert response.status_code == 404
    assert not django_user_model.objects.filter(username="eve").exists()


def test_a_signed_in_member_declines_and_is_not_in_the_club(club, alice, bob):
    _, code = invitation_create(club=club, actor=alice, invitee_username="bob")
    browser = signed_in(bob)
    assert b"Decline" in browser.get(f"/join/{code}/").content
    response = browser.post(f"/join/{code}/", {"decline": "1"})
    assert response.status_code == 302
    assert not Membership.objects.filter(club=club, user=bob).exists()
    # Declined: the link no longer works for accepting either.
    assert browser.post(f"/join/{code}/", {"accept": "1"}).status_code == 404


def test_an_addressed_invitation_asks_its_holder_to_sign_in_and_no_one_else_can_use_it(
    club, alice, bob, django_user_model
):
    _, code = invitation_create(club=club, actor=alice, invitee_username="bob")
    anonymous = Client()
    page = anonymous.get(f"/join/{code}/")
    assert b"Sign in as bob" in page.content
    anonymous.post(f"/join/{code}/", SIGN_UP)  # no sign-up form is offered, none is taken
    assert not django_user_model.objects.filter(username="dora").exists()

    carol = django_user_model.objects.create_user("carol", password="carol-password-1")
    assert signed_in(carol).post(f"/join/{code}/", {"accept": "1"}).status_code == 404
    assert not Membership.objects.filter(club=club, user=carol).exists()

    signed_in(bob).post(f"/join/{code}/", {"accept": "1"})
    assert Membership.objects.filter(club=club, user=bob).exists()
