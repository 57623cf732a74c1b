"""`manage.py export_activity --since <ISO date>`: the audit trail as JSON lines, streamed."""

import json
from datetime import UTC, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from activity.models import ActivityEvent
from activity.payloads import activity_payload
from ops.doctor import counted


def parse_since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(
                f"--since must be an ISO date or datetime (2026-01-31 or 2026-01-31T12:00:00Z), not {value!r}"
            )
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


class Command(BaseCommand):
    help = "Export activity events (the audit trail) since a date, oldest first, one JSON object a line."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="ISO date or datetime (UTC if no offset).")
        parser.add_argument("--until", help="ISO date or datetime, exclusive.")
        parser.add_argument("--format", choices=["jsonl"], default="jsonl")
        parser.add_argument("--organization", help="Only this organization (slug).")
        parser.add_argument("--verb", help="Only this verb, or a prefix ending in '.', e.g. auth.")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, **options):
        events = ActivityEvent.objects.filter(created_at__gte=parse_since(options["since"]))
        if options["until"]:
            events = events.filter(created_at__lt=parse_since(options["until"]))
        if options["organization"]:
            events = events.filter(organization__slug=options["organization"])
        verb = options["verb"]
        if verb:
            events = events.filter(verb__startswith=verb) if verb.endswith(".") else events.filter(verb=verb)
        events = events.select_related("organization").order_by("id")
        output = open(options["output"], "w", encoding="utf-8") if options["output"] else None  # noqa: SIM115
        stream = output or self.stdout
        count = 0
        try:
            # iterator(): constant memory however long the trail is.
            for event in events.iterator(chunk_size=2000):
                record = activity_payload(event)
                record["organization_slug"] = event.organization.slug
                stream.write(json.dumps(record, default=str) + "\n")
                count += 1
        finally:
            if output:
                output.close()
        if output:
            self.stdout.write(f"exported {counted(count, 'event')} to {options['output']}")
        else:
            self.stderr.write(f"exported {counted(count, 'event')}")
