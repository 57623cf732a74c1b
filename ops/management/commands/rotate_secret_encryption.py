"""`manage.py rotate_secret_encryption`: move every stored secret to the newest encryption key."""

from django.core.management.base import BaseCommand, CommandError

from ops.doctor import counted
from ops.keys import reencrypt_all_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every webhook secret (current and previous) and subscription secret with the "
        "first key of SECRET_ENCRYPTION_KEYS. Run after putting the new key first everywhere; "
        "then the old key can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only check every secret decrypts.")

    def handle(self, *args, **options):
        result = reencrypt_all_secrets(dry_run=options["dry_run"])
        if result.unreadable:
            for name in result.unreadable:
                self.stderr.write(f"unreadable with the configured keys: {name}")
            unreadable = counted(len(result.unreadable), "secret")
            raise CommandError(
                f"{unreadable} cannot be decrypted with SECRET_ENCRYPTION_KEYS; "
                "nothing was changed. Put the key they were written with back in the list."
            )
        if options["dry_run"]:
            self.stdout.write(self.style.SUCCESS("dry run: every stored secret decrypts; nothing changed"))
            return
        detail = ", ".join(f"{name}={count}" for name, count in result.reencrypted.items())
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {counted(result.total, 'secret')} ({detail})"))
        if result.changed_meanwhile:
            changed = counted(result.changed_meanwhile, "secret")
            self.stdout.write(
                f"left as written (already under the newest key): {changed} changed during the run; "
                "run again to confirm."
            )
