"""Every REST endpoint under /api/, one router per app."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api")),
    path("", include("metadata.api")),
    path("", include("listens.api")),
    path("", include("clubs.api")),
    path("", include("faces.discord.api")),
]
