"""`{% payload_rule_outcomes payload %}`: the rules section of the payload page.

A tag rather than context from the webhooks view, so the inbound app's page needs no
knowledge of rules beyond one line in its template.
"""

from __future__ import annotations

from django import template

from core.access import membership_for
from core.models import Role
from webhook_rules.models import PayloadRuleOutcome, WebhookRule

register = template.Library()


@register.inclusion_tag("webhook_rules/partials/payload_outcomes.html", takes_context=True)
def payload_rule_outcomes(context, payload) -> dict:
    membership = membership_for(context["request"].user, payload.board.organization_id)
    return {
        "payload": payload,
        "webhook": payload.webhook,
        "outcomes": PayloadRuleOutcome.objects.filter(payload=payload).select_related("task").order_by("id"),
        "has_rules": WebhookRule.objects.filter(webhook_id=payload.webhook_id).exists(),
        "can_reapply": membership is not None and membership.has_role(Role.OPERATOR),
        "csrf_token": context.get("csrf_token"),
    }
