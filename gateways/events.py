"""Event types recorded by gateways: configuration, connection state and commands."""

from __future__ import annotations

from django.utils.html import format_html

from activity.registry import actor, detail, link, quoted, register_category, register_event_type, url_or_none


def _gateway(event):
    d = detail(event)
    gateway_id = d.get("gateway_id") or (event.target_id if event.target_type == "gateway" else None)
    url = url_or_none("gateways:gateway-detail", int(gateway_id)) if str(gateway_id or "").isdigit() else None
    return link(url, quoted(d.get("name"), "a gateway"))


def _changed(phrase: str):
    def sentence(event):
        return format_html("{} {} the gateway {}", actor(event), phrase, _gateway(event))

    return sentence


def _connected(event):
    d = detail(event)
    return format_html(
        "Gateway {} connected (OpenClaw {}, protocol {})",
        _gateway(event),
        d.get("server_version") or "?",
        d.get("protocol") or "?",
    )


def _unreachable(event):
    return format_html(
        "Gateway {} is unreachable: {}", _gateway(event), detail(event).get("error") or "no answer"
    )


def _refused(event):
    d = detail(event)
    return format_html(
        "Gateway {} refused Mission Control ({}): {}",
        _gateway(event),
        d.get("code") or "?",
        d.get("error") or "",
    )


def _command_requested(event):
    return format_html(
        "{} asked the gateway {} to run {}", actor(event), _gateway(event), detail(event).get("method") or "?"
    )


def _command_finished(event):
    d = detail(event)
    if d.get("state") == "failed":
        return format_html(
            "Gateway {} could not run {}: {}", _gateway(event), d.get("method") or "?", d.get("error") or ""
        )
    return format_html("Gateway {} ran {}", _gateway(event), d.get("method") or "?")


def _run_end(event):
    d = detail(event)
    if event.verb == "gateway.run_failed":
        return format_html(
            "A run on the gateway {} failed: {}", _gateway(event), d.get("text") or "no reason given"
        )
    return format_html("A run on the gateway {} finished: {}", _gateway(event), d.get("text") or "")


def _agent_change(phrase: str):
    def sentence(event):
        d = detail(event)
        return format_html(
            "The agent {} {} the gateway {}", quoted(d.get("agent_key"), "an agent"), phrase, _gateway(event)
        )

    return sentence


def _agent_linked(event):
    d = detail(event)
    if not d.get("agent_id"):
        return format_html(
            "{} unlinked the agent {} of the gateway {}",
            actor(event),
            quoted(d.get("agent_key")),
            _gateway(event),
        )
    url = url_or_none("agents:agent-detail", int(d["agent_id"])) if str(d.get("agent_id")).isdigit() else None
    return format_html(
        "{} linked the agent {} of the gateway {} to {}",
        actor(event),
        quoted(d.get("agent_key")),
        _gateway(event),
        link(url, d.get("linked_name") or "an agent"),
    )


def _approval_requested(event):
    d = detail(event)
    return format_html(
        "The agent {} on the gateway {} asks to run {}",
        quoted(d.get("agent_key"), "an agent"),
        _gateway(event),
        format_html("<code>{}</code>", d.get("command") or "a command"),
    )


def _approval_answered(event):
    d = detail(event)
    verb = "allowed" if d.get("decision") == "allow-once" else "denied"
    return format_html(
        "{} {} {} on the gateway {}",
        actor(event),
        verb,
        format_html("<code>{}</code>", d.get("command") or "a command"),
        _gateway(event),
    )


def _agent_woken(event):
    d = detail(event)
    agent = quoted(d.get("agent_key"), "an agent")
    if d.get("task_id"):
        task = quoted(d.get("title"), f"task #{d['task_id']}")
        if d.get("reason") == "assigned":
            return format_html(
                "{} sent {} to {} on the gateway {}, as it was assigned",
                actor(event),
                task,
                agent,
                _gateway(event),
            )
        return format_html(
            "{} asked {} on the gateway {} to work on {}", actor(event), agent, _gateway(event), task
        )
    return format_html("{} woke {} on the gateway {}", actor(event), agent, _gateway(event))


def _session_action(phrase: str):
    def sentence(event):
        return format_html(
            "{} {} the session {} on the gateway {}",
            actor(event),
            phrase,
            format_html("<code>{}</code>", detail(event).get("session_key") or "?"),
            _gateway(event),
        )

    return sentence


def _file_saved(event):
    d = detail(event)
    return format_html(
        "{} saved {} of {} on the gateway {}",
        actor(event),
        format_html("<code>{}</code>", d.get("file") or "a file"),
        quoted(d.get("agent_key"), "an agent"),
        _gateway(event),
    )


def _sessions_changed(event):
    d = detail(event)
    parts = [f"new {', '.join(d['added'])}"] if d.get("added") else []
    parts += [f"gone {', '.join(d['removed'])}"] if d.get("removed") else []
    return format_html("Sessions on the gateway {} changed: {}", _gateway(event), "; ".join(parts) or "?")


def register() -> None:
    register_category("gateway", "Gateways")
    for name, label, sentence in (
        ("gateway.created", "Gateway added", _changed("added")),
        ("gateway.updated", "Gateway changed", _changed("changed")),
        ("gateway.deleted", "Gateway removed", _changed("removed")),
        ("gateway.connected", "Gateway connected", _connected),
        ("gateway.unreachable", "Gateway unreachable", _unreachable),
        ("gateway.refused", "Gateway refused the connection", _refused),
        ("gateway.command_requested", "Gateway command requested", _command_requested),
        ("gateway.command_finished", "Gateway command finished", _command_finished),
        ("gateway.run_finished", "Gateway run finished", _run_end),
        ("gateway.run_failed", "Gateway run failed", _run_end),
        ("gateway.agent_imported", "Gateway agent found", _agent_change("is now on")),
        ("gateway.agent_retired", "Gateway agent retired", _agent_change("is no longer on")),
        ("gateway.agent_linked", "Gateway agent linked", _agent_linked),
        ("gateway.approval_requested", "Gateway approval requested", _approval_requested),
        ("gateway.approval_answered", "Gateway approval answered", _approval_answered),
        ("gateway.agent_woken", "Gateway agent woken", _agent_woken),
        ("gateway.session_stopped", "Gateway session stopped", _session_action("stopped the run of")),
        ("gateway.session_reset", "Gateway session reset", _session_action("reset")),
        ("gateway.agent_file_saved", "Gateway agent file saved", _file_saved),
        ("gateway.sessions_changed", "Gateway sessions changed", _sessions_changed),
    ):
        register_event_type(name, category="gateway", label=label, sentence=sentence, on_board_feed=False)
