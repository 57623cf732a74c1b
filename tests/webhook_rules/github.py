"""GitHub `issues` webhook payloads, shaped like GitHub's documented examples.

fixtures/github_issues_opened.json is the documented "issues opened" delivery; the other
actions are derived from it the way GitHub changes the payload: `edited` carries `changes`,
`labeled`/`unlabeled` carry the `label` and the issue's new `labels`, `assigned` carries the
`assignee`, `closed`/`reopened` change `state`, `state_reason` and `closed_at`.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

OPENED = json.loads((Path(__file__).parent / "fixtures" / "github_issues_opened.json").read_text())
USER_OCTOCAT = OPENED["sender"]
USER_HUBOT = {**USER_OCTOCAT, "login": "hubot", "id": 2, "html_url": "https://github.com/hubot"}


def label(name: str, color: str = "d73a4a") -> dict[str, Any]:
    return {
        "id": abs(hash(name)) % 10**9,
        "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=",
        "url": f"https://api.github.com/repos/octo-org/octo-repo/labels/{name}",
        "name": name,
        "color": color,
        "default": name == "bug",
        "description": f"{name} label",
    }


def issues_event(action: str, *, issue: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A whole `issues` delivery with `action` and the issue's state changed by `issue`."""
    body = copy.deepcopy(OPENED)
    body["action"] = action
    body["issue"].update(issue or {})
    body["issue"]["updated_at"] = "2011-04-22T13:40:00Z"
    body.update(extra)
    return body


def edited(title: str) -> dict[str, Any]:
    return issues_event(
        "edited", issue={"title": title}, changes={"title": {"from": OPENED["issue"]["title"]}}
    )


def labeled(*names: str) -> dict[str, Any]:
    return issues_event("labeled", issue={"labels": [label(n) for n in names]}, label=label(names[-1]))


def assigned(login: str) -> dict[str, Any]:
    user = {**USER_HUBOT, "login": login}
    return issues_event("assigned", issue={"assignee": user, "assignees": [user]}, assignee=user)


def closed() -> dict[str, Any]:
    return issues_event(
        "closed", issue={"state": "closed", "state_reason": "completed", "closed_at": "2011-04-23T10:00:00Z"}
    )


def reopened() -> dict[str, Any]:
    return issues_event("reopened", issue={"state": "open", "state_reason": "reopened", "closed_at": None})


def github_headers(event: str = "issues", delivery: str | None = None) -> dict[str, str]:
    """The headers GitHub sends (the signature is added by whoever signs the body)."""
    return {
        "x-github-event": event,
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-github-hook-id": "292430182",
        "user-agent": "GitHub-Hookshot/044aadd",
        "content-type": "application/json",
    }
