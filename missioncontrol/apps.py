from django.apps import AppConfig


class MissionControlConfig(AppConfig):
    name = "missioncontrol"
    verbose_name = "Mission Control"

    def ready(self) -> None:
        # The User admin's "log out everywhere" action (re-registers the User admin), and
        # login and failed-login audit events (receivers of django.contrib.auth's signals).
        from missioncontrol import admin_users  # noqa: F401
        from missioncontrol.ops import audit, events  # noqa: F401

        events.register()
