"""The task-flow rollup becomes a log consumer that follows the log by position (commit order,
activity 0003) instead of by id with a 60 s settle window: its cursor moves to the log consumers'
table and each flow remembers the position, not the id, of the event that set its status."""

from django.db import migrations, models
from django.db.models import Min


def cursor_to_position(apps, schema_editor):
    """The rollup had read every event up to its id cursor (and trailed by the settle window):
    resume just before the first event with a larger id, by position. Events read again change
    nothing (folding is idempotent)."""
    rollup_cursor = apps.get_model("overview", "RollupCursor")
    log_cursor = apps.get_model("activity", "LogConsumerCursor")
    event = apps.get_model("activity", "ActivityEvent")
    row = rollup_cursor.objects.filter(pk="task_flow").first()
    if row is None:
        return  # never refreshed: the consumer starts at the beginning of the log
    unread = event.objects.filter(id__gt=row.last_event_id, position__isnull=False)
    first_unread = unread.aggregate(first=Min("position"))["first"]
    if first_unread is None:
        position = event.objects.aggregate(head=models.Max("position"))["head"] or 0
    else:
        position = first_unread - 1
    log_cursor.objects.update_or_create(name="task-flow", defaults={"position": position})


def status_event_ids_to_positions(apps, schema_editor):
    flow = apps.get_model("overview", "TaskFlow")
    event = apps.get_model("activity", "ActivityEvent")
    position_of = models.Subquery(
        event.objects.filter(pk=models.OuterRef("status_event_position")).values("position")[:1]
    )
    flow.objects.filter(status_event_position__gt=0).update(
        status_event_position=models.functions.Coalesce(position_of, models.Value(0))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("overview", "0002_onboarding_dismissal"),
        ("activity", "0003_event_position"),
    ]

    operations = [
        migrations.RunPython(cursor_to_position, migrations.RunPython.noop),
        migrations.RenameField("taskflow", "status_event_id", "status_event_position"),
        migrations.RunPython(status_event_ids_to_positions, migrations.RunPython.noop),
        migrations.DeleteModel(name="RollupCursor"),
    ]
