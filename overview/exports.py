"""CSV and JSON-lines exports of tasks, activity and deliveries, streamed row by row.

Rows come from a database cursor in chunks (`QuerySet.iterator`), are written one line at a time
and leave as they are written, so memory stays flat whatever the row count (bench/export_memory
measures it). Scope is one organization the caller belongs to (else 404); a row limit caps every
export and `after=<id>` continues past it. CSV cells that a spreadsheet would run as a formula
are escaped (docs/overview.md, "Exports").
"""

from __future__ import annotations

import datetime
import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_GET

from activity.models import ActivityEvent
from boards.models import Board, Task, TaskStatus
from core.access import current_organization
from core.actors import ActorKind
from core.models import Organization
from deliveries.models import Delivery, DeliveryStatus
from infra.csv_export import csv_lines as write_csv_lines
from infra.exceptions import DomainError

FORMATS = ("csv", "jsonl")
CHUNK_ROWS = 2000
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").


class ExportError(DomainError):
    code = "invalid_filter"


@dataclass(frozen=True)
class Dataset:
    name: str
    # The file's columns: a column name, or "name=orm__path" when the value comes from elsewhere.
    fields: tuple[str, ...]
    # (organization, filters) -> the rows in scope, ordered by id
    rows: Callable[[Organization, dict[str, Any]], QuerySet]
    filters: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(field.split("=")[0] for field in self.fields)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(field.split("=")[-1] for field in self.fields)


def _tasks(organization: Organization, filters: dict[str, Any]) -> QuerySet:
    tasks = Task.objects.filter(board__organization=organization)
    if "status" in filters:
        tasks = tasks.filter(status=filters["status"])
    return _common(tasks, filters, time_field="created_at")


def _activity(organization: Organization, filters: dict[str, Any]) -> QuerySet:
    events = ActivityEvent.objects.filter(organization=organization)
    verb = filters.get("verb")
    if verb:
        events = events.filter(verb__startswith=verb) if verb.endswith(".") else events.filter(verb=verb)
    if "actor" in filters:
        events = events.filter(actor_kind=filters["actor"])
    return _common(events, filters, time_field="created_at")


def _deliveries(organization: Organization, filters: dict[str, Any]) -> QuerySet:
    deliveries = Delivery.objects.filter(organization=organization)
    if "status" in filters:
        deliveries = deliveries.filter(status=filters["status"])
    return _common(deliveries, filters, time_field="created_at")


def _common(queryset: QuerySet, filters: dict[str, Any], *, time_field: str) -> QuerySet:
    if "board" in filters:
        queryset = queryset.filter(board_id=filters["board"])
    if "since" in filters:
        queryset = queryset.filter(**{f"{time_field}__gte": filters["since"]})
    if "until" in filters:
        queryset = queryset.filter(**{f"{time_field}__lt": filters["until"]})
    if "after" in filters:
        queryset = queryset.filter(pk__gt=filters["after"])
    return queryset.order_by("pk")


DATASETS = {
    "tasks": Dataset(
        "tasks",
        (
            "id",
            "board_id",
            "board=board__name",
            "title",
            "status",
            "priority",
            "assignee_agent=assignee_agent__name",
            "assignee_user=assignee_user__username",
            "due_date",
            "created_at",
            "updated_at",
            "started_at=flow__started_at",
            "done_at=flow__done_at",
            "cycle_seconds=flow__cycle_seconds",
            "lead_seconds=flow__lead_seconds",
        ),
        _tasks,
        ("board", "status", "since", "until", "after", "limit"),
    ),
    "activity": Dataset(
        "activity",
        (
            "id",
            "created_at",
            "board_id",
            "actor_kind",
            "actor_label",
            "verb",
            "target_type",
            "target_id",
            "detail",
            "request_id",
        ),
        _activity,
        ("board", "verb", "actor", "since", "until", "after", "limit"),
    ),
    "deliveries": Dataset(
        "deliveries",
        (
            "id",
            "created_at",
            "updated_at",
            "board_id",
            "event_type",
            "target_url",
            "status",
            "attempt_count",
            "last_status_code",
            "agent_id",
            "subscription_id",
        ),
        _deliveries,
        ("board", "status", "since", "until", "after", "limit"),
    ),
}
STATUS_CHOICES = {"tasks": TaskStatus.values, "deliveries": DeliveryStatus.values}


# --- filters --------------------------------------------------------------------------------------


def _moment(name: str, raw: str) -> datetime.datetime:
    value = parse_datetime(raw)
    if value is None:
        day = parse_date(raw)
        if day is None:
            raise ExportError(f"{name} must be a date (2026-03-01) or an ISO 8601 time.")
        value = datetime.datetime.combine(day, datetime.time())
    return value if timezone.is_aware(value) else timezone.make_aware(value, datetime.UTC)


def _positive_int(name: str, raw: str, maximum: int) -> int:
    if not raw.isdigit() or not 0 < int(raw) <= maximum:
        raise ExportError(f"{name} must be a whole number from 1 to {maximum}.")
    return int(raw)


def parse_filters(dataset: Dataset, organization: Organization, params) -> dict[str, Any]:
    """The export's filters from query parameters; a bad value is a 400 naming the parameter."""
    filters: dict[str, Any] = {"limit": settings.EXPORT_MAX_ROWS}
    for name in dataset.filters:
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        if name == "board":
            board_id = _positive_int("board", raw, 2**63 - 1)
            if not Board.objects.filter(organization=organization, pk=board_id).exists():
                raise Http404("No such board.")
            filters["board"] = board_id
        elif name in ("since", "until"):
            filters[name] = _moment(name, raw)
        elif name == "after":
            filters["after"] = _positive_int("after", raw, 2**63 - 1)
        elif name == "limit":
            filters["limit"] = _positive_int("limit", raw, settings.EXPORT_MAX_ROWS)
        elif name == "status":
            if raw not in STATUS_CHOICES[dataset.name]:
                choices = ", ".join(STATUS_CHOICES[dataset.name])
                raise ExportError(f"status must be one of: {choices}.")
            filters["status"] = raw
        elif name == "actor":
            if raw not in ActorKind.values:
                raise ExportError(f"actor must be one of: {', '.join(ActorKind.values)}.")
            filters["actor"] = raw
        elif name == "verb":
            filters["verb"] = raw[:64]
    return filters


def parse_format(raw: str | None) -> str:
    value = (raw or "csv").strip().lower()
    if value not in FORMATS:
        raise ExportError("format must be csv or jsonl.", code="invalid_format")
    return value


# --- writing --------------------------------------------------------------------------------------


def csv_lines(dataset: Dataset, rows: Iterable[tuple]) -> Iterator[bytes]:
    return write_csv_lines(dataset.columns, rows)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


def jsonl_lines(dataset: Dataset, rows: Iterable[tuple]) -> Iterator[bytes]:
    for row in rows:
        record = dict(zip(dataset.columns, row, strict=True))
        yield (json.dumps(record, default=_json_default, ensure_ascii=False) + "\n").encode()


def export_lines(
    dataset: Dataset, organization: Organization, filters: dict[str, Any], fmt: str
) -> Iterator[bytes]:
    rows = (
        dataset.rows(organization, filters)
        .values_list(*dataset.sources)[: filters["limit"]]
        .iterator(chunk_size=CHUNK_ROWS)
    )
    return csv_lines(dataset, rows) if fmt == "csv" else jsonl_lines(dataset, rows)


def _batched(lines: Iterator[bytes], size: int = 256) -> Iterator[bytes]:
    """Lines joined into fewer, larger writes (one per `size` rows)."""
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield b"".join(batch)
            batch = []
    if batch:
        yield b"".join(batch)


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # Under ASGI Django would read a sync iterator to the end into memory before sending; pulling
    # one chunk at a time on the sync thread keeps the stream (and the DB cursor) incremental.
    read = sync_to_async(lambda: next(chunks, None), thread_sensitive=True)
    while (chunk := await read()) is not None:
        yield chunk


def streaming_export(
    request: HttpRequest, dataset: Dataset, organization: Organization, filters: dict[str, Any], fmt: str
) -> StreamingHttpResponse:
    chunks = _batched(export_lines(dataset, organization, filters, fmt))
    content = _async_chunks(chunks) if isinstance(request, ASGIRequest) else chunks
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    response = StreamingHttpResponse(content, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    filename = f"{organization.slug}-{dataset.name}-{stamp}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Export-Row-Limit"] = str(filters["limit"])
    response["Cache-Control"] = "no-store"
    return response


# --- pages ----------------------------------------------------------------------------------------


def _page_context(organization: Organization | None) -> dict[str, Any]:
    boards = (
        [] if organization is None else list(Board.objects.filter(organization=organization).order_by("name"))
    )
    return {
        "organization": organization,
        "boards": boards,
        "task_statuses": TaskStatus.choices,
        "delivery_statuses": DeliveryStatus.choices,
        "actor_kinds": ActorKind.choices,
        "max_rows": settings.EXPORT_MAX_ROWS,
    }


@login_required
@require_GET
def export_page(request: HttpRequest) -> HttpResponse:
    return render(request, "overview/exports.html", _page_context(current_organization(request)))


@login_required
@require_GET
def export_download(request: HttpRequest, dataset: str) -> HttpResponse:
    """The current organization's rows, filtered as on the exports page."""
    organization = current_organization(request)
    if organization is None or dataset not in DATASETS:
        raise Http404
    chosen = DATASETS[dataset]
    try:
        fmt = parse_format(request.GET.get("format"))
        filters = parse_filters(chosen, organization, request.GET)
    except ExportError as exc:
        context = {**_page_context(organization), "error": exc.message}
        return render(request, "overview/exports.html", context, status=400)
    return streaming_export(request, chosen, organization, filters, fmt)
