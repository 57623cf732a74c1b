from django.apps import AppConfig


class StandupsConfig(AppConfig):
    name = "standups"
    verbose_name = "Standups"
    default_auto_field = "django.db.models.BigAutoField"
