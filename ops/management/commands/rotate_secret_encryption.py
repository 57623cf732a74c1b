"""`manage.py rotate_secret_encryption`: move every stored secret to the newest encryption key."""

from django.core.management.base import BaseCommand, CommandError

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
            raise CommandError(
                f"{len(result.unreadable)} secret(s) cannot be decrypted with SECRET_ENCRYPTION_KEYS; "
                "nothing was changed. Put the key they were written with back in the list."
            )
        if options["dry_run"]:
            self.stdout.write(self.style.SUCCESS("dry run: every stored secret decrypts; nothing changed"))
            return
        detail = ", ".join(f"{name}={count}" for name, count in result.reencrypted.items())
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {result.total} secret(s) ({detail})"))
        if result.changed_meanwhile:
            self.stdout.write(
                f"{result.changed_meanwhile} secret(s) changed during the run were left "
                "as written (already under the newest key); run again to confirm."
            )
