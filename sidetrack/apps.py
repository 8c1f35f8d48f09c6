from django.apps import AppConfig


class SidetrackConfig(AppConfig):
    name = "sidetrack"
    verbose_name = "Sidetrack"

    def ready(self) -> None:
        from sidetrack import checks  # noqa: F401  (registers the system checks)
