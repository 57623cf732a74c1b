"""`/api/v1/schedules/`, `/automations/`, `/task-templates/`, `/pipeline-templates/`,
`/pipelines/`, `/action-outcomes/`.

Scoped to the boards the caller can see (another organization's object is a 404). Roles are the
services': members read and preview, operators run a schedule now and instantiate templates,
admins create, change and delete.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from automations import services
from automations.api import serializers
from automations.models import ActionOutcome, Automation, Pipeline, PipelineTemplate, Schedule, TaskTemplate
from core.api.views import HumanViewSet

CRUD = (
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
)


class _BoardScoped:
    model: type

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.model.objects.visible_to(self.request.user).select_related("board").order_by("name", "id")

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return self.update_serializer
        return self.serializer_class

    def get_object(self):
        """Writes on one object check the role before the body is read: a viewer learns nothing
        from a 400 (the services check again)."""
        obj = super().get_object()
        if self.request.method not in SAFE_METHODS:
            operators_may = self.action in ("run", "instantiate")
            (services.require_operator if operators_may else services.require_admin)(self.actor, obj.board)
        return obj


class ScheduleViewSet(_BoardScoped, *CRUD, HumanViewSet):
    model = Schedule
    queryset = Schedule.objects.none()
    serializer_class = serializers.ScheduleSerializer
    update_serializer = serializers.ScheduleUpdateSerializer
    filterset_fields = ["board", "enabled"]

    def perform_create(self, serializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = services.create_schedule(
            actor=self.actor, cron_expression=data.pop("cron"), **data
        )

    def perform_update(self, serializer) -> None:
        serializer.instance = services.update_schedule(
            schedule=serializer.instance, actor=self.actor, **serializer.validated_data
        )

    def perform_destroy(self, instance: Schedule) -> None:
        services.delete_schedule(schedule=instance, actor=self.actor)

    @extend_schema(request=None, responses={200: serializers.ActionOutcomeSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk=None) -> Response:
        """Run the schedule's actions now (operators); no slot is used up."""
        outcomes = services.run_schedule_now(schedule=self.get_object(), actor=self.actor)
        return Response(serializers.ActionOutcomeSerializer(outcomes, many=True).data)

    @extend_schema(responses={200: serializers.ScheduleRunSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, pk=None) -> Response:
        """The last 50 slots, fired or skipped."""
        runs = self.get_object().runs.order_by("-slot")[:50]
        return Response(serializers.ScheduleRunSerializer(runs, many=True).data)

    @extend_schema(
        request=serializers.SchedulePreviewRequestSerializer,
        responses={200: serializers.SchedulePreviewSerializer},
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """The expression in words, the next five runs in the time zone, the slots of last week."""
        body = serializers.SchedulePreviewRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        services.require_viewer(self.actor, body.validated_data["board"])
        preview = services.schedule_preview(
            board=body.validated_data["board"],
            cron_expression=body.validated_data["cron"],
            time_zone=body.validated_data["time_zone"],
        )
        return Response(serializers.SchedulePreviewSerializer(preview).data)


class AutomationViewSet(_BoardScoped, *CRUD, HumanViewSet):
    model = Automation
    queryset = Automation.objects.none()
    serializer_class = serializers.AutomationSerializer
    update_serializer = serializers.AutomationUpdateSerializer
    filterset_fields = ["board", "trigger", "enabled"]

    def perform_create(self, serializer) -> None:
        serializer.instance = services.create_automation(actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer) -> None:
        serializer.instance = services.update_automation(
            automation=serializer.instance, actor=self.actor, **serializer.validated_data
        )

    def perform_destroy(self, instance: Automation) -> None:
        services.delete_automation(automation=instance, actor=self.actor)

    @extend_schema(
        request=serializers.AutomationPreviewRequestSerializer,
        responses={200: serializers.AutomationPreviewSerializer},
    )
    @action(detail=False, methods=["post"])
    def preview(self, request: Request) -> Response:
        """The dry run: how often it would have fired over the board's last week (nothing written)."""
        body = serializers.AutomationPreviewRequestSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        result = services.preview_automation(actor=self.actor, **body.validated_data)
        return Response(serializers.AutomationPreviewSerializer(result).data)


class _Instantiating:
    @extend_schema(request=None, responses={201: dict})
    @action(detail=True, methods=["post"])
    def instantiate(self, request: Request, pk=None) -> Response:
        """Create the template's task (or the pipeline's tasks) now; operators."""
        created = services.instantiate_template(template=self.get_object(), actor=self.actor)
        if isinstance(created, Pipeline):
            return Response(serializers.PipelineSerializer(created).data, status=status.HTTP_201_CREATED)
        return Response({"task": created.pk, "title": created.title}, status=status.HTTP_201_CREATED)


class TaskTemplateViewSet(_BoardScoped, _Instantiating, *CRUD, HumanViewSet):
    model = TaskTemplate
    queryset = TaskTemplate.objects.none()
    serializer_class = serializers.TaskTemplateSerializer
    update_serializer = serializers.TaskTemplateUpdateSerializer
    filterset_fields = ["board"]

    def perform_create(self, serializer) -> None:
        serializer.instance = services.create_task_template(actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer) -> None:
        serializer.instance = services.update_task_template(
            template=serializer.instance, actor=self.actor, **serializer.validated_data
        )

    def perform_destroy(self, instance: TaskTemplate) -> None:
        services.delete_template(template=instance, actor=self.actor)


class PipelineTemplateViewSet(_BoardScoped, _Instantiating, *CRUD, HumanViewSet):
    model = PipelineTemplate
    queryset = PipelineTemplate.objects.none()
    serializer_class = serializers.PipelineTemplateSerializer
    update_serializer = serializers.PipelineTemplateUpdateSerializer
    filterset_fields = ["board"]

    def perform_create(self, serializer) -> None:
        serializer.instance = services.create_pipeline_template(actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer) -> None:
        serializer.instance = services.update_pipeline_template(
            template=serializer.instance, actor=self.actor, **serializer.validated_data
        )

    def perform_destroy(self, instance: PipelineTemplate) -> None:
        services.delete_template(template=instance, actor=self.actor)


class PipelineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HumanViewSet):
    """Started pipelines with their progress (done steps of all)."""

    queryset = Pipeline.objects.none()
    serializer_class = serializers.PipelineSerializer
    filterset_fields = ["board", "template"]

    def get_queryset(self) -> QuerySet[Pipeline]:
        if getattr(self, "swagger_fake_view", False):
            return Pipeline.objects.none()
        return Pipeline.objects.visible_to(self.request.user).order_by("-id")


class ActionOutcomeFilter(filters.FilterSet):
    class Meta:
        model = ActionOutcome
        fields = ["board", "source_kind", "source_id", "status"]


class ActionOutcomeViewSet(mixins.ListModelMixin, HumanViewSet):
    """What every action did, newest first, whoever triggered it (rules, schedules, automations)."""

    queryset = ActionOutcome.objects.none()
    serializer_class = serializers.ActionOutcomeSerializer
    filterset_class = ActionOutcomeFilter

    def get_queryset(self) -> QuerySet[ActionOutcome]:
        if getattr(self, "swagger_fake_view", False):
            return ActionOutcome.objects.none()
        return ActionOutcome.objects.filter(
            board__organization__memberships__user=self.request.user, board__archived=False
        ).order_by("-id")
