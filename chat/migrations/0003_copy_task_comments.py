"""Copy every task comment (boards.Comment) into its task's chat thread: one conversation per task.

Each copy keeps the comment's author, time and text, and its id in `legacy_comment_id`, so the
copy is traceable and runs once per comment (a rerun, or a comment copied already, is skipped).
A comment whose author is gone (or was a webhook, a rule, the system) takes the name its
`comment.added` event recorded. The copies get no mention rows: the mentions were notified when
the comments were written, and their @names show as text. Reversed, the copies are deleted (the
comments themselves stay in boards.Comment, read-only, until a later release drops it).
"""

from __future__ import annotations

from django.db import migrations

CHUNK = 500


def _labels_from_events(ActivityEvent, comment_ids: list[int]) -> dict[str, str]:
    events = ActivityEvent.objects.filter(
        verb="comment.added", target_type="comment", target_id__in=[str(pk) for pk in comment_ids]
    )
    return dict(events.values_list("target_id", "actor_label"))


def _copies(ActivityEvent, ChatMessage, comments: list) -> list:
    authorless = [c.pk for c in comments if c.author_user_id is None and c.author_agent_id is None]
    labels = _labels_from_events(ActivityEvent, authorless) if authorless else {}
    return [
        ChatMessage(
            board_id=comment.task.board_id,
            task_id=comment.task_id,
            author_user_id=comment.author_user_id,
            author_agent_id=comment.author_agent_id,
            author_label=(
                comment.author_user.username
                if comment.author_user_id
                else comment.author_agent.name
                if comment.author_agent_id
                else labels.get(str(comment.pk), "someone")
            )[:150],
            body=comment.body,
            created_at=comment.created_at,
            legacy_comment_id=comment.pk,
        )
        for comment in comments
    ]


def copy_comments(apps, schema_editor) -> int:
    """Copy the comments not copied yet, oldest first; returns how many were copied."""
    Comment = apps.get_model("boards", "Comment")
    ChatMessage = apps.get_model("chat", "ChatMessage")
    ActivityEvent = apps.get_model("activity", "ActivityEvent")
    copied = ChatMessage.objects.filter(legacy_comment_id__isnull=False).values("legacy_comment_id")
    pending = (
        Comment.objects.exclude(pk__in=copied)
        .select_related("task", "author_user", "author_agent")
        .order_by("created_at", "id")
    )
    created_at = ChatMessage._meta.get_field("created_at")
    # auto_now_add would stamp every copy with the time of the migration: the comment's own
    # time is the point of the copy.
    was_auto, created_at.auto_now_add = created_at.auto_now_add, False
    count = 0
    try:
        chunk: list = []
        for comment in pending.iterator(chunk_size=CHUNK):
            chunk.append(comment)
            if len(chunk) == CHUNK:
                count += len(ChatMessage.objects.bulk_create(_copies(ActivityEvent, ChatMessage, chunk)))
                chunk = []
        if chunk:
            count += len(ChatMessage.objects.bulk_create(_copies(ActivityEvent, ChatMessage, chunk)))
    finally:
        created_at.auto_now_add = was_auto
    return count


def delete_copies(apps, schema_editor) -> None:
    apps.get_model("chat", "ChatMessage").objects.filter(legacy_comment_id__isnull=False).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_chatmessage_legacy_comment_id"),
        ("boards", "0008_comment_read_only"),
        ("activity", "0003_event_position"),
    ]

    operations = [migrations.RunPython(copy_comments, delete_copies, elidable=False)]
