"""The log's commit-order position (docs/realtime.md, "The cursor") and the log consumers' cursors.

PostgreSQL: a deferred constraint trigger gives each new event its position from a sequence while
its transaction commits, holding a transaction-level advisory lock until the commit is visible.
Positions are therefore handed out in commit order: whoever sees position P committed can never
later see a smaller one appear. SQLite lets one transaction write at a time, from its first write
to its commit, so ids are already in commit order there and a plain AFTER INSERT trigger copies
the id. (A later migration that makes Django rebuild this table on SQLite drops that trigger and
must create it again; tests/activity/test_position.py fails if it is missing.)

Existing events get position = id, so a cursor a client kept from before keeps its meaning, and
new positions continue above the largest id.
"""

from django.conf import settings
from django.db import migrations, models

# Any constant: the key of the advisory lock that serialises the commits of event-writing
# transactions (advisory locks are per database).
POSITION_LOCK_KEY = 7_281_530_911

POSTGRES_FORWARD = f"""
CREATE SEQUENCE IF NOT EXISTS activity_event_position;
SELECT setval('activity_event_position', GREATEST((SELECT COALESCE(MAX(id), 0) FROM boards_activityevent), 1));
CREATE OR REPLACE FUNCTION activity_event_assign_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Held until this transaction's commit is visible: the next committer waits here, so it
    -- draws a larger position only after this one can be read.
    PERFORM pg_advisory_xact_lock({POSITION_LOCK_KEY});
    UPDATE boards_activityevent SET position = nextval('activity_event_position')
     WHERE id = NEW.id AND created_at = NEW.created_at;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER activity_event_position AFTER INSERT ON boards_activityevent
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION activity_event_assign_position();
"""

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS activity_event_position ON boards_activityevent;
DROP FUNCTION IF EXISTS activity_event_assign_position();
DROP SEQUENCE IF EXISTS activity_event_position;
"""

SQLITE_FORWARD = """
CREATE TRIGGER IF NOT EXISTS activity_event_position AFTER INSERT ON boards_activityevent
BEGIN
    UPDATE boards_activityevent SET position = NEW.id WHERE id = NEW.id;
END;
"""


def assign_positions(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("UPDATE boards_activityevent SET position = id WHERE position IS NULL")
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_FORWARD)
        elif connection.vendor == "sqlite":
            cursor.execute(SQLITE_FORWARD)


# The consumers that existed when the log got its cursor (settings.ACTIVITY_LOG_CONSUMERS).
CONSUMERS_AT_THE_TIME = ("live", "deliveries", "search", "notifications", "alerts", "webhook-rules")


def create_consumer_cursors(apps, schema_editor):
    """They start at the head: what they do for the history was done when it was written (by the
    listeners that ran inside each write until now)."""
    event = apps.get_model("activity", "ActivityEvent")
    cursor = apps.get_model("activity", "LogConsumerCursor")
    head = event.objects.aggregate(head=models.Max("position"))["head"] or 0
    for name in CONSUMERS_AT_THE_TIME:
        cursor.objects.get_or_create(name=name, defaults={"position": head})


def remove_position_trigger(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_BACKWARD)
        elif connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS activity_event_position")


class Migration(migrations.Migration):

    dependencies = [
        ('activity', '0002_partition_by_month'),
        ('agents', '0003_organization_in_core'),
        ('boards', '0006_alter_taskdependency_options'),
        ('core', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='LogConsumerCursor',
            fields=[
                ('name', models.CharField(max_length=64, primary_key=True, serialize=False)),
                ('position', models.BigIntegerField(default=0)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('last_error', models.CharField(blank=True, max_length=500)),
                ('failures', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name='activityevent',
            name='live',
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name='activityevent',
            name='notify_agent_ids',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='activityevent',
            name='position',
            field=models.BigIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(assign_positions, remove_position_trigger),
        migrations.RunPython(create_consumer_cursors, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='activityevent',
            index=models.Index(condition=models.Q(('position__isnull', False)), fields=['position'], name='activity_position'),
        ),
        migrations.AddIndex(
            model_name='activityevent',
            index=models.Index(condition=models.Q(('position__isnull', False)), fields=['board', 'position'], name='activity_board_position'),
        ),
        migrations.AddIndex(
            model_name='activityevent',
            index=models.Index(condition=models.Q(('position__isnull', False)), fields=['organization', 'position'], name='activity_org_position'),
        ),
    ]
