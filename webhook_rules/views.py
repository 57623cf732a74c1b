"""Pages of webhook rules: the rule editor (rules in order, presets, mapping tables, dry run)
and re-applying rules to a payload. Members read and dry-run; admins edit (the services check).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from boards.models import TaskPriority, TaskStatus
from core.access import membership_for
from core.actors import Actor
from core.models import Role
from infra.exceptions import DomainError
from webhook_rules import presets, services
from webhook_rules.expressions import ExpressionError
from webhook_rules.models import RULE_EDITABLE_FIELDS, RuleAction, RuleMappings, WebhookRule
from webhook_rules.rules import event_name
from webhooks import services as webhook_services
from webhooks.models import BoardWebhook

DRY_RUN_PAYLOAD_CHOICES = 50


class RuleForm(forms.ModelForm):
    priority = forms.ChoiceField(choices=[("", "Keep / medium"), *TaskPriority.choices], required=False)
    status = forms.ChoiceField(
        choices=[("", "Keep / inbox"), *TaskStatus.choices], required=False, label="Column"
    )
    action = forms.ChoiceField(choices=RuleAction.choices)

    class Meta:
        model = WebhookRule
        fields = list(RULE_EDITABLE_FIELDS)
        widgets = {
            "condition": forms.Textarea(attrs={"rows": 2, "class": "mono"}),
            "description_template": forms.Textarea(attrs={"rows": 3}),
            "comment_template": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "events": "Event header values, comma-separated (X-GitHub-Event, X-Gitlab-Event, X-Event-Type). "
            "Empty: any.",
            "condition": "JMESPath over the JSON, e.g. action == 'opened' && issue.pull_request == null. "
            "Empty: always.",
            "external_id_template": "Names the outside item, e.g. ${repository.full_name}#${issue.number}.",
            "tags_expression": "Label names (JMESPath), e.g. issue.labels[].name; see the label table.",
            "assignee_expression": "A login (JMESPath), e.g. issue.assignee.login; see the login table.",
        }


class MappingsForm(forms.Form):
    labels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "mono"}),
        help_text="One per line: label | tag | priority (tag empty: no tag; priority optional).",
    )
    logins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "class": "mono"}),
        help_text="One per line: login | user:<username> or agent:<name>.",
    )

    @staticmethod
    def initial_for(mappings: RuleMappings | None) -> dict[str, str]:
        labels = (mappings.labels if mappings else {}) or {}
        logins = (mappings.logins if mappings else {}) or {}
        return {
            "labels": "\n".join(
                " | ".join([label, entry.get("tag", ""), entry.get("priority", "")]).rstrip(" |")
                for label, entry in labels.items()
            ),
            "logins": "\n".join(f"{login} | {target}" for login, target in logins.items()),
        }

    def tables(self) -> tuple[dict, dict]:
        labels: dict[str, dict[str, str]] = {}
        for line in self.cleaned_data["labels"].splitlines():
            parts = [part.strip() for part in line.split("|")]
            if parts[0]:
                labels[parts[0]] = {
                    "tag": parts[1] if len(parts) > 1 else parts[0],
                    **({"priority": parts[2]} if len(parts) > 2 and parts[2] else {}),
                }
        logins: dict[str, str] = {}
        for line in self.cleaned_data["logins"].splitlines():
            login, _, target = (part.strip() for part in line.partition("|"))
            if login:
                logins[login] = target
        return labels, logins


def _visible_webhook(request: HttpRequest, webhook_id: int) -> BoardWebhook:
    return get_object_or_404(
        webhook_services.webhooks_visible_to(request.user).select_related("board"), pk=webhook_id
    )


def _role(request: HttpRequest, webhook: BoardWebhook, role: str) -> bool:
    membership = membership_for(request.user, webhook.board.organization_id)
    return membership is not None and membership.has_role(role)


def _managed_webhook(request: HttpRequest, webhook_id: int) -> BoardWebhook:
    """The webhook of a write: 404 when invisible, 403 for members who are not admins."""
    webhook = _visible_webhook(request, webhook_id)
    if not _role(request, webhook, Role.ADMIN):
        raise PermissionDenied("Only organization admins change webhook rules.")
    return webhook


def _save_rule(request: HttpRequest, form: RuleForm, webhook: BoardWebhook, rule: WebhookRule | None) -> bool:
    if not form.is_valid():
        return False
    actor = Actor.for_user(request.user)
    try:
        if rule is None:
            services.create_rule(webhook=webhook, actor=actor, **form.cleaned_data)
        else:
            services.update_rule(rule=rule, actor=actor, **form.cleaned_data)
    except ExpressionError as exc:
        form.add_error(exc.field, exc.message)
        return False
    except DomainError as exc:
        form.add_error(None, exc.message)
        return False
    return True


@login_required
def webhook_rules(request: HttpRequest, webhook_id: int) -> HttpResponse:
    """The rule editor: the rules in order, a new-rule form, presets, the tables, a dry run."""
    webhook = _visible_webhook(request, webhook_id)
    can_manage = _role(request, webhook, Role.ADMIN)
    form = RuleForm(initial={"enabled": True, "action": RuleAction.CREATE_TASK})
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only organization admins change webhook rules.")
        form = RuleForm(request.POST)
        if _save_rule(request, form, webhook, None):
            messages.success(request, "Rule added.")
            return redirect("webhook_rules:webhook-rules", webhook.pk)
    mappings = RuleMappings.objects.filter(webhook=webhook).first()
    recent = webhook.payloads.only("pk", "received_at", "headers").order_by("-id")[:DRY_RUN_PAYLOAD_CHOICES]
    payloads = [(payload, event_name(payload)) for payload in recent]
    dry_run = None
    dry_run_payload = request.GET.get("payload", "")
    if dry_run_payload.isdigit():
        payload = get_object_or_404(
            webhook.payloads.select_related("board", "webhook"), pk=int(dry_run_payload)
        )
        dry_run = services.dry_run_rules(payload=payload, actor=Actor.for_user(request.user))
    return render(
        request,
        "webhook_rules/rules.html",
        {
            "webhook": webhook,
            "board": webhook.board,
            "rules": webhook.rules.order_by("position", "id"),
            "form": form,
            "can_manage": can_manage,
            "presets": presets.PRESETS.values(),
            "mappings_form": MappingsForm(initial=MappingsForm.initial_for(mappings)),
            "payloads": payloads,
            "dry_run": dry_run,
            "dry_run_payload": dry_run_payload,
        },
        status=400 if form.errors else 200,
    )


@login_required
def rule_edit(request: HttpRequest, webhook_id: int, rule_id: int) -> HttpResponse:
    webhook = _visible_webhook(request, webhook_id)
    rule = get_object_or_404(WebhookRule, pk=rule_id, webhook=webhook)
    can_manage = _role(request, webhook, Role.ADMIN)
    form = RuleForm(instance=rule)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only organization admins change webhook rules.")
        form = RuleForm(request.POST, instance=WebhookRule.objects.get(pk=rule.pk))
        if _save_rule(request, form, webhook, rule):
            messages.success(request, "Rule saved.")
            return redirect("webhook_rules:webhook-rules", webhook.pk)
    return render(
        request,
        "webhook_rules/rule_edit.html",
        {
            "webhook": webhook,
            "board": webhook.board,
            "rule": rule,
            "form": form,
            "can_manage": can_manage,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def rule_delete(request: HttpRequest, webhook_id: int, rule_id: int) -> HttpResponse:
    webhook = _managed_webhook(request, webhook_id)
    rule = get_object_or_404(WebhookRule, pk=rule_id, webhook=webhook)
    try:
        services.delete_rule(rule=rule, actor=Actor.for_user(request.user))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("webhook_rules:webhook-rules", webhook.pk)


@login_required
@require_POST
def preset_apply(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _managed_webhook(request, webhook_id)
    try:
        rules = services.apply_preset(
            webhook=webhook, actor=Actor.for_user(request.user), preset=request.POST.get("preset", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Added {len(rules)} rules.")
    return redirect("webhook_rules:webhook-rules", webhook.pk)


@login_required
@require_POST
def mappings_save(request: HttpRequest, webhook_id: int) -> HttpResponse:
    webhook = _managed_webhook(request, webhook_id)
    form = MappingsForm(request.POST)
    if form.is_valid():
        labels, logins = form.tables()
        try:
            services.set_rule_mappings(
                webhook=webhook, actor=Actor.for_user(request.user), labels=labels, logins=logins
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Tables saved.")
    return redirect("webhook_rules:webhook-rules", webhook.pk)


@login_required
@require_POST
def payload_reapply(request: HttpRequest, payload_id: int) -> HttpResponse:
    payload = get_object_or_404(
        webhook_services.payloads_visible_to(request.user).select_related("webhook", "board"), pk=payload_id
    )
    if not _role(request, payload.webhook, Role.OPERATOR):
        raise PermissionDenied("Only operators and admins re-apply rules.")
    try:
        services.reapply_rules(payload=payload, actor=Actor.for_user(request.user))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The rules run on this payload again; the outcome appears below.")
    return redirect("webhooks:payload-detail", payload.pk)
