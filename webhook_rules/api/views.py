"""`/api/v1/webhooks/{webhook_pk}/rules/…`: rules of a webhook, its mapping tables, presets, dry
runs, and the rule outcomes of its payloads.

Scoped like the webhooks API: members of the board's organization read (and dry-run), admins
change rules (checked by the services), operators re-apply rules to a payload. A webhook the
caller cannot see is a 404.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.views import HumanViewSet
from webhook_rules import presets, services
from webhook_rules.api import serializers
from webhook_rules.models import PayloadRuleOutcome, RuleMappings, WebhookRule
from webhooks import services as webhook_services
from webhooks.models import BoardWebhook, WebhookPayload


class _WebhookScoped:
    """Finds the URL's webhook among those the caller can see (404 otherwise)."""

    def get_webhook(self) -> BoardWebhook:
        visible = webhook_services.webhooks_visible_to(self.request.user).select_related("board")
        return get_object_or_404(visible, pk=self.kwargs["webhook_pk"])


class WebhookRuleViewSet(
    _WebhookScoped,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    HumanViewSet,
):
    serializer_class = serializers.WebhookRuleSerializer
    pagination_class = None  # at most MAX_RULES_PER_WEBHOOK, always read as one ordered list

    def check_permissions(self, request: Request) -> None:
        """Writes need an admin before the body is validated: a member learns nothing from a 400."""
        super().check_permissions(request)
        if request.method not in SAFE_METHODS and self.action != "dry_run":
            services.require_rule_admin(self.actor, self.get_webhook())

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookRule.objects.none()
        return WebhookRule.objects.filter(webhook=self.get_webhook()).order_by("position", "id")

    def perform_create(self, serializer) -> None:
        serializer.instance = services.create_rule(
            webhook=self.get_webhook(), actor=self.actor, **serializer.validated_data
        )

    def perform_update(self, serializer) -> None:
        serializer.instance = services.update_rule(
            rule=serializer.instance, actor=self.actor, **serializer.validated_data
        )

    def perform_destroy(self, instance: WebhookRule) -> None:
        services.delete_rule(rule=instance, actor=self.actor)

    @extend_schema(
        request=serializers.ApplyPresetSerializer,
        responses={201: serializers.WebhookRuleSerializer(many=True)},
    )
    @action(detail=False, methods=["post"])
    def presets(self, request: Request, webhook_pk=None) -> Response:
        """Append a preset's rules (github, ci, alertmanager) and merge its label table."""
        body = serializers.ApplyPresetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rules = services.apply_preset(
            webhook=self.get_webhook(), actor=self.actor, preset=body.validated_data["preset"]
        )
        return Response(
            serializers.WebhookRuleSerializer(rules, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=serializers.DryRunRequestSerializer, responses={200: serializers.DryRunSerializer})
    @action(detail=False, methods=["post"], url_path="dry-run")
    def dry_run(self, request: Request, webhook_pk=None) -> Response:
        """What the rules would do with a stored payload of this webhook; writes nothing."""
        webhook = self.get_webhook()
        body = serializers.DryRunRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payload = get_object_or_404(
            WebhookPayload.objects.select_related("board", "webhook"),
            pk=body.validated_data["payload"],
            webhook=webhook,
        )
        return Response(services.dry_run_rules(payload=payload, actor=self.actor))


class RuleMappingsViewSet(_WebhookScoped, HumanViewSet):
    """The label table and the login table every rule of the webhook uses."""

    queryset = RuleMappings.objects.none()  # one row per webhook, in get_mappings()
    serializer_class = serializers.RuleMappingsSerializer

    def get_mappings(self, webhook: BoardWebhook) -> RuleMappings:
        return RuleMappings.objects.filter(webhook=webhook).first() or RuleMappings(webhook=webhook)

    def get_object(self) -> RuleMappings:
        # One object per webhook, found by the webhook in the URL, not by a pk. DRF's OPTIONS
        # (SimpleMetadata) calls get_object() to describe PUT; the generic one wanted a pk: 500.
        return self.get_mappings(self.get_webhook())

    def retrieve(self, request: Request, webhook_pk=None) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def update(self, request: Request, webhook_pk=None) -> Response:
        webhook = self.get_webhook()
        services.require_rule_admin(self.actor, webhook)
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        mappings = services.set_rule_mappings(
            webhook=webhook,
            actor=self.actor,
            labels=body.validated_data.get("labels"),
            logins=body.validated_data.get("logins"),
        )
        return Response(self.get_serializer(mappings).data)


class PresetViewSet(HumanViewSet):
    # Not a model: a handful of presets from code, always one list.
    pagination_class = None
    filter_backends: list = []

    @extend_schema(responses={200: serializers.PresetSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """The presets there are (apply one with POST /webhooks/{webhook_pk}/rules/presets/)."""
        return Response(serializers.PresetSerializer(presets.PRESETS.values(), many=True).data)


class PayloadRuleOutcomeViewSet(_WebhookScoped, HumanViewSet):
    queryset = PayloadRuleOutcome.objects.none()  # the payload's outcomes, in list()
    serializer_class = serializers.PayloadRuleOutcomeSerializer

    def get_payload(self) -> WebhookPayload:
        payloads = WebhookPayload.objects.filter(webhook=self.get_webhook()).select_related("board")
        return get_object_or_404(payloads, pk=self.kwargs["pk"])

    @extend_schema(responses={200: serializers.PayloadRuleOutcomeSerializer(many=True)})
    def list(self, request: Request, webhook_pk=None, pk=None) -> Response:
        """Every rule outcome of the payload, oldest first (retries and replays are new rows)."""
        outcomes = PayloadRuleOutcome.objects.filter(payload=self.get_payload()).order_by("id")
        return Response(self.get_serializer(outcomes, many=True).data)

    @extend_schema(request=None, responses={202: dict})
    def reapply(self, request: Request, webhook_pk=None, pk=None) -> Response:
        """Run the rules on this payload again, in the worker; idempotent by external id."""
        payload = services.reapply_rules(payload=self.get_payload(), actor=self.actor)
        return Response({"id": str(payload.pk), "queued": True}, status=status.HTTP_202_ACCEPTED)
