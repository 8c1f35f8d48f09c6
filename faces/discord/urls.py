from __future__ import annotations

from django.urls import path

from faces.discord.views import interactions

urlpatterns = [path("interactions/", interactions, name="discord-interactions")]
