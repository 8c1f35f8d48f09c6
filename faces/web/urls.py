"""The members' web pages (namespace ``web``)."""

from django.urls import path

from faces.web.views import auth, clubs, lastfm_auth, listening, members, sources

app_name = "web"

urlpatterns = [
    path("", listening.home, name="home"),
    path("signin/", auth.signin, name="signin"),
    path("signout/", auth.signout, name="signout"),
    path("signup/", auth.signup, name="signup"),
    path("join/<str:code>/", auth.join, name="join"),
    path("password/", auth.password_change, name="password_change"),
    path("listens/", listening.listens, name="listens"),
    path("albums/<str:mbid>/", listening.album, name="album"),
    path("sources/", sources.sources, name="sources"),
    path("sources/connect/", sources.connect, name="connect"),
    path("sources/lastfm/", sources.lastfm_start, name="lastfm_start"),
    path("sources/lastfm/done/", sources.lastfm_done, name="lastfm_done"),
    path("sources/<int:account_id>/fetch/", sources.fetch, name="fetch"),
    path("sources/<int:account_id>/disconnect/", sources.disconnect, name="disconnect"),
    path("sources/discord/", sources.discord_link_code, name="discord_link_code"),
    path("sources/tokens/", sources.token_create, name="token_create"),
    path("sources/tokens/<int:token_id>/revoke/", sources.token_revoke, name="token_revoke"),
    path("auth/lastfm/", lastfm_auth.approve_lastfm_client, name="lastfm_approve"),
    path("clubs/", clubs.club_list, name="clubs"),
    path("clubs/<int:club_id>/", clubs.club, name="club"),
    path("clubs/<int:club_id>/nominations/<int:nomination_id>/", clubs.club, name="nomination"),
    path("clubs/<int:club_id>/compare/", clubs.compare, name="compare"),
    path("clubs/<int:club_id>/nominate/", clubs.nominate, name="nominate"),
    path("clubs/<int:club_id>/leave/", clubs.leave, name="leave"),
    path("clubs/<int:club_id>/members/", members.members, name="members"),
    path("clubs/<int:club_id>/members/remove/", members.member_remove, name="member_remove"),
    path("clubs/<int:club_id>/invitations/", members.invitation_create, name="invitation_create"),
    path(
        "clubs/<int:club_id>/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
    path("clubs/<int:club_id>/discord-code/", members.discord_club_code, name="discord_club_code"),
]
