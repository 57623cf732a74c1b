"""`manage.py doctor`: one line per check, non-zero exit on any problem (fails closed)."""

import json

from django.core.management.base import BaseCommand, CommandError

from ops.doctor import counted, run_doctor


class Command(BaseCommand):
    help = (
        "Check the deployment: database and migrations, cache, channel layer, broker, a worker, "
        "beat, security settings, check --deploy, backups, dead letters and agent heartbeats."
    )
    requires_system_checks = []  # doctor runs the checks itself and reports them as findings

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON document for machines.")
        parser.add_argument("--strict", action="store_true", help="Fail on warnings too.")

    def handle(self, *args, **options):
        report = run_doctor(context="command", strict=options["strict"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for finding in report.findings:
                if finding.status in ("ok", "note"):
                    style = self.style.SUCCESS if finding.status == "ok" else self.style.NOTICE
                else:
                    style = self.style.ERROR if finding in report.problems else self.style.WARNING
                self.stdout.write(style(finding.line()))
        if not report.ok:
            raise CommandError(f"doctor found {counted(len(report.problems), 'problem')}")
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS("doctor: all checks passed"))
