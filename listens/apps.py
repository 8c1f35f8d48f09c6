from django.apps import AppConfig


class ListensConfig(AppConfig):
    name = "listens"
    verbose_name = "Listens"
