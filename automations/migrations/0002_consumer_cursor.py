"""The "automations" log consumer starts at the head of the log: automations created from now on
react to events from now on, not to the history of the board."""

from django.db import migrations, models


def create_cursor(apps, schema_editor):
    event = apps.get_model("activity", "ActivityEvent")
    cursor = apps.get_model("activity", "LogConsumerCursor")
    head = event.objects.aggregate(head=models.Max("position"))["head"] or 0
    cursor.objects.get_or_create(name="automations", defaults={"position": head})


def remove_cursor(apps, schema_editor):
    apps.get_model("activity", "LogConsumerCursor").objects.filter(name="automations").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0001_initial"),
        ("activity", "0003_event_position"),
    ]

    operations = [migrations.RunPython(create_cursor, remove_cursor)]
