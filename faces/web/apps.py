from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "faces.web"
    label = "web"
    verbose_name = "Members' web"
