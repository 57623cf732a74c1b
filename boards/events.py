"""Event types recorded by boards: boards, tasks, comments, approvals, tags and members."""

from __future__ import annotations

from django.utils.html import format_html

from activity.registry import actor, detail, link, quoted, register_event_type, task_link, url_or_none
from boards.markdown import plain_text

STATUS_LABELS = {
    "inbox": "Inbox",
    "in_progress": "In progress",
    "review": "Review",
    "done": "Done",
    "blocked": "Blocked",
}


def status_label(status: str | None) -> str:
    return STATUS_LABELS.get(status or "", status or "another column")


def _fields(event) -> str:
    fields = detail(event).get("fields") or detail(event).get("changed") or []
    return ", ".join(str(f).replace("_", " ") for f in fields) if isinstance(fields, list) else ""


def _board(event):
    url = url_or_none("boards:board-detail", event.board_id) if event.board_id else None
    return link(url, quoted(detail(event).get("name"), "the board"))


def _status_changed(event):
    d = detail(event)
    if d.get("approval_id") and d.get("to") == "done":
        return format_html("{} finished {} after approval", actor(event), task_link(event))
    return format_html(
        "{} moved {} from {} to {}",
        actor(event),
        task_link(event),
        status_label(d.get("from")),
        status_label(d.get("to")),
    )


def _assigned(event):
    d = detail(event)
    if not d.get("assignee"):
        return format_html("{} unassigned {}", actor(event), task_link(event))
    who = (
        link(url_or_none("agents:agent-detail", d["agent_id"]), d["assignee"])
        if d.get("agent_id")
        else format_html("{}", d["assignee"])
    )
    return format_html("{} assigned {} to {}", actor(event), task_link(event), who)


def _edited(event):
    fields = _fields(event)
    if fields:
        return format_html("{} edited {} ({})", actor(event), task_link(event), fields)
    return format_html("{} edited {}", actor(event), task_link(event))


def _comment(event):
    excerpt = plain_text(detail(event).get("excerpt") or "")
    if len(excerpt) > 140:
        excerpt = excerpt[:139] + "…"
    if excerpt:
        return format_html("{} commented on {}: “{}”", actor(event), task_link(event), excerpt)
    return format_html("{} commented on {}", actor(event), task_link(event))


def _decided(event):
    d = detail(event)
    verb = "approved" if d.get("approved") else "rejected"
    reason = d.get("reason") or ""
    if reason:
        return format_html("{} {} {}: “{}”", actor(event), verb, task_link(event), reason)
    return format_html("{} {} {}", actor(event), verb, task_link(event))


def _member(verb_phrase: str):
    def sentence(event):
        d = detail(event)
        role = d.get("role") or ""
        return format_html(
            "{} {} {}{}",
            actor(event),
            verb_phrase,
            d.get("username") or "a member",
            format_html(" as {}", role) if role else "",
        )

    return sentence


def register() -> None:
    register_event_type(
        "board.created",
        category="board",
        label="Board created",
        sentence=lambda e: format_html("{} created the board {}", actor(e), _board(e)),
    )
    register_event_type(
        "board.updated",
        category="board",
        label="Board settings changed",
        sentence=lambda e: format_html(
            "{} changed the board settings{}",
            actor(e),
            format_html(" ({})", _fields(e)) if _fields(e) else "",
        ),
    )
    register_event_type(
        "board.archived",
        category="board",
        label="Board archived",
        sentence=lambda e: format_html("{} archived the board {}", actor(e), _board(e)),
    )
    register_event_type(
        "task.created",
        category="task",
        label="Task created",
        sentence=lambda e: format_html("{} created {}", actor(e), task_link(e)),
    )
    register_event_type("task.updated", category="task", label="Task edited", sentence=_edited)
    register_event_type(
        "task.deleted",
        category="task",
        label="Task deleted",
        sentence=lambda e: format_html("{} deleted {}", actor(e), quoted(detail(e).get("title"))),
    )
    register_event_type("task.status_changed", category="task", label="Task moved", sentence=_status_changed)
    register_event_type(
        "task.reordered",
        category="task",
        label="Task reordered in its column",
        on_board_feed=False,
        sentence=lambda e: format_html("{} reordered {}", actor(e), task_link(e)),
    )
    register_event_type("task.assigned", category="task", label="Task assigned", sentence=_assigned)
    register_event_type(
        "task.dependency_added",
        category="task",
        label="Dependency added",
        sentence=lambda e: format_html(
            "{} made {} wait for {}",
            actor(e),
            task_link(e),
            task_link(e, key="depends_on", title_key="depends_on_title"),
        ),
    )
    register_event_type(
        "task.dependency_removed",
        category="task",
        label="Dependency removed",
        sentence=lambda e: format_html("{} removed a dependency of {}", actor(e), task_link(e)),
    )
    # Recorded with the thread's `chat.message_posted` (a comment is a message in the task's
    # thread), which is the board feed's entry; the task's history shows this one.
    register_event_type(
        "comment.added", category="comment", label="Comment added", sentence=_comment, on_board_feed=False
    )
    register_event_type(
        "approval.requested",
        category="approval",
        label="Approval requested",
        sentence=lambda e: format_html("{} asked for approval to finish {}", actor(e), task_link(e)),
    )
    register_event_type("approval.decided", category="approval", label="Approval decided", sentence=_decided)
    for verb, label, phrase in (
        ("tag.created", "Tag created", "created the tag"),
        ("tag.updated", "Tag changed", "changed the tag"),
        ("tag.deleted", "Tag deleted", "deleted the tag"),
    ):
        register_event_type(
            verb,
            category="tag",
            label=label,
            on_board_feed=False,
            sentence=lambda e, phrase=phrase: format_html(
                "{} {} {}", actor(e), phrase, quoted(detail(e).get("name"), "a tag")
            ),
        )
    register_event_type(
        "member.added",
        category="member",
        label="Member added",
        on_board_feed=False,
        sentence=_member("added"),
    )
    register_event_type(
        "member.role_changed",
        category="member",
        label="Member role changed",
        on_board_feed=False,
        sentence=_member("changed the role of"),
    )
    register_event_type(
        "member.removed",
        category="member",
        label="Member removed",
        on_board_feed=False,
        sentence=lambda e: format_html("{} removed {}", actor(e), detail(e).get("username") or "a member"),
    )
    register_event_type(
        "stream.flood_closed",
        category="ops",
        label="Live stream closed for flooding",
        on_board_feed=False,
        sentence=lambda e: format_html(
            "Mission Control closed a live {} stream of {} for sending over {} messages a second",
            detail(e).get("stream") or "",
            e.actor_label or "a client",
            detail(e).get("limit_per_second") or "the limit",
        ),
    )
