"""`manage.py restore_drill`: back up, restore into a scratch database, compare row counts."""

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError
from ops.restore import run_restore_drill


class Command(BaseCommand):
    help = "Back up, restore into a scratch database and compare the row count of every table."

    def add_arguments(self, parser):
        parser.add_argument("--keep", action="store_true", help="Keep the scratch database for inspection.")

    def handle(self, *args, **options):
        try:
            report = run_restore_drill(keep=options["keep"], progress=lambda line: self.stdout.write(line))
        except BackupError as exc:
            raise CommandError(f"restore drill FAILED: {exc}") from None
        tables = len(report.source_counts)
        rows = sum(report.source_counts.values())
        if not report.passed:
            for table, (expected, restored) in report.mismatches.items():
                self.stderr.write(f"mismatch: {table}: backup {expected}, restored {restored}")
            raise CommandError(
                f"restore drill FAILED: {len(report.mismatches)} of {tables} tables differ "
                f"({report.backup_file} into {report.target})"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"restore drill PASSED: {tables} tables, {rows} rows equal ({report.backup_file} into "
                f"{report.target})"
            )
        )
