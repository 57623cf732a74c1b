"""The one event path: every change appends one ActivityEvent; what reacts to it follows the log."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import models

from activity import following
from activity.causation import current_cause
from activity.models import ActivityEvent
from core.actors import Actor
from infra.logs import current_request_id


def record_activity(
    *,
    organization: models.Model | int,
    verb: str,
    actor: Actor,
    board: models.Model | int | None = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    detail: dict[str, Any] | None = None,
    notify_agent_ids: Iterable[int] = (),
    publish: bool = True,
) -> ActivityEvent:
    """Append an event inside the caller's transaction. After the commit the log's consumers
    (activity.following) pick it up: the live publisher pushes it to the board and organization
    streams and to the streams of `notify_agent_ids` (unless `publish` is False)."""
    agent_ids = list(notify_agent_ids)
    cause = current_cause.get()
    if cause is not None:
        detail = {**(detail or {}), "caused_by": cause}
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target.pk
    event = ActivityEvent.objects.create(
        organization_id=organization if isinstance(organization, int) else organization.pk,
        board_id=board if (board is None or isinstance(board, int)) else board.pk,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_agent=actor.agent,
        actor_label=actor.label[:150],
        verb=verb,
        target_type=target_type,
        target_id=str(target_id),
        detail=detail or {},
        request_id=current_request_id.get() if current_request_id.get() != "-" else "",
        notify_agent_ids=agent_ids,
        live=publish,
    )
    following.schedule_after_commit()
    return event


def _name_changed_fields(changed: list[str]) -> dict[str, Any]:
    return {"fields": changed}


def update_and_record(
    instance: models.Model,
    *,
    changes: Mapping[str, Any],
    actor: Actor,
    verb: str,
    organization: models.Model | int,
    board: models.Model | int | None = None,
    target_type: str = "",
    detail: Callable[[list[str]], dict[str, Any]] | None = None,
    record_unchanged: bool = False,
) -> list[str]:
    """The "set fields, save, record the event" step of every update service.

    Sets only the fields whose value differs, saves only those (and the model's auto_now stamps,
    which update_fields would otherwise skip) and records one event whose detail is built from the
    changed names, after they are set (so it can name the new values). Returns the changed names
    in the order given. A call that changes nothing records nothing, unless `record_unchanged`:
    some resources' history has always listed every update request.
    """
    changed = [name for name, value in changes.items() if getattr(instance, name) != value]
    if not changed and not record_unchanged:
        return changed
    for name in changed:
        setattr(instance, name, changes[name])
    stamps = [field.name for field in instance._meta.concrete_fields if getattr(field, "auto_now", False)]
    instance.save(update_fields=[*changed, *stamps])
    record_activity(
        organization=organization,
        board=board,
        actor=actor,
        verb=verb,
        target=instance,
        target_type=target_type,
        detail=(detail or _name_changed_fields)(changed),
    )
    return changed
