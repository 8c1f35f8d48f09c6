from django.contrib import admin
from django.urls import path

from sidetrack.views import health

admin.site.site_header = "Sidetrack administration"
admin.site.site_title = "Sidetrack"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
]
