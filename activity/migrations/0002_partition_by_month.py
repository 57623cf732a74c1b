"""PostgreSQL: the activity log becomes a table partitioned by month of created_at (rows kept).

Nothing changes on SQLite. See infra/partitions.py for why and how.
"""

from django.db import migrations

from infra.partitions import PartitionedTable, convert_to_partitioned, convert_to_plain

TABLE = PartitionedTable("boards_activityevent", "created_at")


def partition(apps, schema_editor):
    convert_to_partitioned(schema_editor, TABLE)


def unpartition(apps, schema_editor):
    convert_to_plain(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("activity", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition),
    ]
