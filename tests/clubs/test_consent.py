"""Joining a club is the invitee's own act: invitations with a code, an expiry and a
number of uses, accepted or declined; legacy memberships shown as such; caps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from clubs import services
from clubs.models import Club, Invitation, Membership
from tests.clubs.conftest import make_club, nominate

pytestmark = pytest.mark.django_db


def invite(client, club, **body):
    response = client.post(f"/api/clubs/{club.pk}/invitations/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_an_invited_user_sees_nothing_shared_until_they_accept(world, alice, bob, as_alice, as_bob):
    club = make_club(alice)
    nomination = nominate(club, world.studio)

    made = invite(as_alice, club, username="bob")
    # Until bob accepts, the club sees nothing of his: not a member, no standings row.
    standings = as_alice.get(f"/api/clubs/{club.pk}/nominations/{nomination.pk}/").json()
    assert [row["username"] for row in standings["standings"]] == ["alice"]
    assert as_alice.get(f"/api/clubs/{club.pk}/compare/", {"user": "bob"}).status_code == 404
    # Bob sees the invitation, with what members would see of him.
    mine = as_bob.get("/api/invitations/").json()
    assert [(i["club_name"], i["owner"]) for i in mine] == [("Sunday Album Club", "alice")]
    assert "full listens" in mine[0]["members_see"]
    assert "code" not in mine[0]
    assert made["code"] not in str(Invitation.objects.values().get())

    accepted = as_bob.post(f"/api/invitations/{mine[0]['id']}/accept/")

    assert accepted.status_code == 201
    assert accepted.json()["membership"]["joined_via"] == "invitation"
    standings = as_alice.get(f"/api/clubs/{club.pk}/nominations/{nomination.pk}/").json()
    assert sorted(row["username"] for row in standings["standings"]) == ["alice", "bob"]
    assert as_bob.get("/api/invitations/").json() == []


def test_a_code_joins_anyone_holding_it_up_to_its_uses(
    alice, bob, carol, as_alice, as_bob, as_carol
):
    club = make_club(alice)
    code = invite(as_alice, club, max_uses=1)["code"]

    preview = as_bob.post("/api/invitations/lookup/", {"code": code}, format="json")
    assert preview.json()["club_name"] == "Sunday Album Club"
    assert not Membership.objects.filter(club=club, user=bob).exists()  # looking is not joining
    assert as_bob.post("/api/invitations/accept/", {"code": code}, format="json").status_code == 201
    # Accepting again changes nothing; the single use is gone for anyone else.
    assert as_bob.post("/api/invitations/accept/", {"code": code}, format="json").status_code == 404
    refused = as_carol.post("/api/invitations/accept/", {"code": code}, format="json")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "invalid_invitation"
    assert Invitation.objects.get().uses == 1
    assert list(club.memberships.values_list("user__username", flat=True)) == ["alice", "bob"]


def test_an_expired_revoked_or_declined_invitation_joins_nobody(alice, bob, as_alice, as_bob):
    club = make_club(alice)
    now = timezone.now()
    _, expired = services.invitation_create(
        club=club, actor=alice, expires_at=now + timedelta(minutes=1), now=now
    )
    revoked = invite(as_alice, club)
    addressed = invite(as_alice, club, username="bob")
    assert as_alice.delete(f"/api/clubs/{club.pk}/invitations/{revoked['id']}/").status_code == 204
    assert as_bob.post(f"/api/invitations/{addressed['id']}/decline/").status_code == 204

    later = now + timedelta(minutes=2)
    with pytest.raises(services.ClubError):
        services.invitation_accept(user=bob, code=expired, now=later)
    for code in (revoked["code"], addressed["code"]):
        answer = as_bob.post("/api/invitations/accept/", {"code": code}, format="json")
        assert answer.status_code == 404
    assert not Membership.objects.filter(club=club, user=bob).exists()


def test_an_invitation_for_one_user_cannot_be_used_by_another(
    alice, bob, carol, as_alice, as_carol
):
    club = make_club(alice)
    made = invite(as_alice, club, username="bob")

    assert as_carol.post("/api/invitations/accept/", {"code": made["code"]}).status_code == 404
    assert as_carol.post(f"/api/invitations/{made['id']}/accept/").status_code == 404
    assert not Membership.objects.filter(club=club, user=carol).exists()


def test_inviting_never_tells_whether_a_username_exists(alice, bob, as_alice):
    club = make_club(alice)

    known = as_alice.post(f"/api/clubs/{club.pk}/invitations/", {"username": "bob"}, format="json")
    unknown = as_alice.post(
        f"/api/clubs/{club.pk}/invitations/", {"username": "zed"}, format="json"
    )

    assert known.status_code == unknown.status_code == 201
    shape = {k for k in known.json() if k not in ("id", "invitee", "code", "prefix")}
    assert shape == {k for k in unknown.json() if k not in ("id", "invitee", "code", "prefix")}
    # Nobody can be added by name any more.
    added = as_alice.post(f"/api/clubs/{club.pk}/members/", {"username": "bob"}, format="json")
    assert added.status_code == 405
    assert not Membership.objects.filter(club=club, user=bob).exists()


def test_only_the_owner_invites(alice, bob, as_bob):
    club = make_club(alice, bob)
    response = as_bob.post(f"/api/clubs/{club.pk}/invitations/", {}, format="json")
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_leaving_takes_effect_at_once(world, alice, bob, as_alice, as_bob):
    club = make_club(alice, bob)
    nomination = nominate(club, world.studio)

    assert as_bob.delete(f"/api/clubs/{club.pk}/members/bob/").status_code == 204

    standings = as_alice.get(f"/api/clubs/{club.pk}/nominations/{nomination.pk}/").json()
    assert [row["username"] for row in standings["standings"]] == ["alice"]
    progress = f"/api/clubs/{club.pk}/nominations/{nomination.pk}/members/bob/"
    assert as_alice.get(progress).status_code == 404
    assert as_alice.get(f"/api/clubs/{club.pk}/compare/", {"user": "bob"}).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_memberships_made_without_consent_are_kept_marked_legacy(django_user_model):
    before = [("clubs", "0001_clubs_memberships_nominations")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    owner = django_user_model.objects.create_user("alice")
    added = django_user_model.objects.create_user("bob")
    club = old.get_model("clubs", "Club").objects.create(name="Old club", owner_id=owner.pk)
    old_membership = old.get_model("clubs", "Membership")
    old_membership.objects.create(club=club, user_id=owner.pk)
    old_membership.objects.create(club=club, user_id=added.pk)  # added by name, no consent

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    via = dict(Membership.objects.values_list("user__username", "joined_via"))
    assert via == {"alice": "owner", "bob": "legacy"}


def test_a_legacy_member_is_shown_so_and_can_leave(alice, bob, as_bob):
    club = make_club(alice)
    Membership.objects.create(club=club, user=bob, joined_via=Membership.JoinedVia.LEGACY)

    mine = as_bob.get("/api/clubs/").json()["results"]
    assert mine[0]["membership"]["joined_via"] == "legacy"
    assert as_bob.delete(f"/api/clubs/{club.pk}/members/bob/").status_code == 204
    assert as_bob.get("/api/clubs/").json()["results"] == []


# --- Caps -----------------------------------------------------------------------------


def test_clubs_owned_per_user_are_capped(alice, as_alice, settings):
    settings.MAX_CLUBS_OWNED_PER_USER = 2
    for n in range(2):
        assert as_alice.post("/api/clubs/", {"name": f"c{n}"}, format="json").status_code == 201
    refused = as_alice.post("/api/clubs/", {"name": "one more"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_clubs"
    assert Club.objects.count() == 2


def test_members_per_club_are_capped(alice, bob, carol, as_alice, as_carol, settings):
    settings.MAX_MEMBERS_PER_CLUB = 2
    club = make_club(alice, bob)
    code = invite(as_alice, club, max_uses=5)["code"]
    refused = as_carol.post("/api/invitations/accept/", {"code": code}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "club_full"
    assert not Membership.objects.filter(user=carol).exists()


def test_open_invitations_per_club_are_capped(alice, as_alice, settings):
    settings.MAX_OPEN_INVITATIONS_PER_CLUB = 2
    club = make_club(alice)
    invite(as_alice, club)
    invite(as_alice, club)
    refused = as_alice.post(f"/api/clubs/{club.pk}/invitations/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_invitations"


def test_open_nominations_per_club_are_capped(world, alice, as_alice, settings):
    settings.MAX_OPEN_NOMINATIONS_PER_CLUB = 1
    club = make_club(alice)
    nominate(club, world.studio)
    refused = as_alice.post(
        f"/api/clubs/{club.pk}/nominations/",
        {"release_group_mbid": str(world.studio.mbid)},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_nominations"
    assert club.nominations.count() == 1


def test_a_club_name_of_invisible_characters_is_refused(as_alice):
    for name in ("\x00\x00", "\u200b\u200d", "\x07 \t", "\ufeff\u3164"):
        response = as_alice.post("/api/clubs/", {"name": name}, format="json")
        assert response.status_code == 400, repr(name)
        assert "name" in response.json()["error"]["detail"]
    assert not Club.objects.exists()
