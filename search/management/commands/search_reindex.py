"""Rebuild the search index from the domain tables (after installing, or a bulk change)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from search.models import SearchKind
from search.services import rebuild_index


class Command(BaseCommand):
    help = "Index every task, agent, board, webhook payload and activity event again; drop stale rows."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--kind",
            action="append",
            choices=SearchKind.values,
            help="Only this kind (repeatable). Default: all.",
        )

    def handle(self, *args, **options) -> None:
        counts = rebuild_index(kinds=options["kind"] or SearchKind.values)
        for kind, count in counts.items():
            self.stdout.write(f"{kind}: {count} indexed")
