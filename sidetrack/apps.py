from django.apps import AppConfig


class SidetrackConfig(AppConfig):
    name = "sidetrack"
    verbose_name = "Sidetrack"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from sidetrack import checks  # noqa: F401  (registers the system checks)
        from sidetrack.login_throttle import on_login_failed

        user_login_failed.connect(on_login_failed, dispatch_uid="sidetrack-login-throttle")
