from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from faces.web.views.lastfm_auth import lastfm_auth_redirect
from listens.lastfm_api import lastfm_api_view
from sidetrack.views import admin_login, health

admin.site.site_header = "Sidetrack administration"
admin.site.site_title = "Sidetrack"

urlpatterns = [
    # Before the admin's own routes: its login, with failed attempts throttled.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    # Last.fm-protocol clients send the user to <server>/api/auth/ (as on Last.fm and
    # GNU FM): a redirect to the approval page, before the REST API's routes.
    path("api/auth/", lastfm_auth_redirect, name="lastfm-auth-redirect"),
    path("api/", include("sidetrack.api_urls")),
    # ListenBrainz-compatible: players point their "custom ListenBrainz URL" here.
    path("1/", include("listens.listenbrainz_api")),
    # Last.fm-compatible (Scrobbling 2.0): players point their Last.fm/Libre.fm API URL here.
    path("2.0/", include("listens.lastfm_api")),
    path("2.0", lastfm_api_view),  # clients that leave the slash off POST here
    # Discord POSTs slash commands here (404 unless the DISCORD_* settings are set).
    path("discord/", include("faces.discord.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The members' web pages, last: every other prefix above wins.
    path("", include("faces.web.urls")),
]
