"""PostgreSQL: delivery attempts become a table partitioned by month of started_at (rows kept).

Nothing changes on SQLite. See infra/partitions.py for why and how.
"""

from django.db import migrations

from infra.partitions import PartitionedTable, convert_to_partitioned, convert_to_plain

TABLE = PartitionedTable("webhooks_deliveryattempt", "started_at")


def partition(apps, schema_editor):
    convert_to_partitioned(schema_editor, TABLE)


def unpartition(apps, schema_editor):
    convert_to_plain(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("deliveries", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(partition, unpartition),
    ]
