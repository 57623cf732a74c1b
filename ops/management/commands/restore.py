"""`manage.py restore <file>`: verify the checksum and the format, then restore."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backups import BackupError
from ops.restore import restore_backup, verify_backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup`. The SHA-256 beside the file and "
        "`pg_restore --list` (or SQLite's integrity check) are verified first; a non-empty "
        "database is never overwritten without --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--verify-only", action="store_true", help="Verify, restore nothing.")
        parser.add_argument(
            "--into",
            metavar="DATABASE_URL",
            help="Restore into this database instead (postgres://…, created if missing; or a "
            "sqlite file path), e.g. for a drill.",
        )
        parser.add_argument("--force", action="store_true", help="Overwrite a non-empty database.")

    def handle(self, *args, **options):
        path: Path = options["file"]
        try:
            if options["verify_only"]:
                engine = verify_backup(path)
                self.stdout.write(self.style.SUCCESS(f"verified: {path.name} ({engine}, checksum ok)"))
                return
            result = restore_backup(
                path=path,
                into=options["into"],
                force=options["force"],
                progress=lambda line: self.stdout.write(line),
            )
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from None
        created = " (database created)" if result.created_database else ""
        self.stdout.write(self.style.SUCCESS(f"restored {path.name} into {result.target}{created}"))
