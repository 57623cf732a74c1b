"""`manage.py backup`: one backup now, with the same recording and alerting as the scheduled one."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError, create_backup
from ops.models import BackupTrigger


class Command(BaseCommand):
    help = "Back up the database into BACKUP_DIR (pg_dump custom format or SQLite online backup)."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, help="Write into this directory instead of BACKUP_DIR.")
        parser.add_argument("--no-prune", action="store_true", help="Skip retention pruning.")

    def handle(self, *args, **options):
        try:
            backup = create_backup(
                trigger=BackupTrigger.MANUAL,
                backup_dir=options["dir"],
                progress=lambda line: self.stdout.write(line),
                prune=not options["no_prune"],
            )
        except BackupError as exc:
            raise CommandError(f"backup failed: {exc}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"backup ok: {backup.file_name} ({backup.size_bytes} bytes, sha256 {backup.sha256})"
            )
        )
