from django.apps import AppConfig


class TeamsConfig(AppConfig):
    """Organizations, members, invitations and board groups in the app (not only Django admin)."""

    name = "teams"
    default_auto_field = "django.db.models.BigAutoField"
