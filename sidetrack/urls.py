from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from sidetrack.views import admin_login, health

admin.site.site_header = "Sidetrack administration"
admin.site.site_title = "Sidetrack"

urlpatterns = [
    # Before the admin's own routes: its login, with failed attempts throttled.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/", include("sidetrack.api_urls")),
    # ListenBrainz-compatible: players point their "custom ListenBrainz URL" here.
    path("1/", include("listens.listenbrainz_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # The members' web pages, last: every other prefix above wins.
    path("", include("faces.web.urls")),
]
