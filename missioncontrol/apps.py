from django.apps import AppConfig


class MissionControlConfig(AppConfig):
    name = "missioncontrol"
    verbose_name = "Mission Control"
