"""Serializers of the automations API. Validation of meaning (cron, actions, limits) is the
services'; these check shapes and name the fields."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from automations import cron
from automations.models import (
    ActionOutcome,
    Automation,
    MissedRunPolicy,
    Pipeline,
    PipelineTemplate,
    Schedule,
    ScheduleRun,
    TaskTemplate,
    Trigger,
)
from automations.services import pipeline_progress
from boards.models import Board


@extend_schema_field(OpenApiTypes.INT)
class BoardField(serializers.PrimaryKeyRelatedField):
    """A board the caller can see (another organization's is "does not exist", like a 404)."""

    def get_queryset(self):
        request = self.context.get("request")
        return Board.objects.visible_to(request.user) if request else Board.objects.none()


class ScheduleRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScheduleRun
        fields = ["id", "slot", "status", "message", "missed", "created_at"]


class ScheduleSerializer(serializers.ModelSerializer):
    board = BoardField()
    description = serializers.SerializerMethodField()
    next_runs = serializers.SerializerMethodField()
    actions = serializers.JSONField()
    missed_policy = serializers.ChoiceField(choices=MissedRunPolicy.choices, default=MissedRunPolicy.RUN_ONCE)

    class Meta:
        model = Schedule
        fields = [
            "id",
            "board",
            "name",
            "cron",
            "time_zone",
            "enabled",
            "missed_policy",
            "actions",
            "description",
            "next_runs",
            "next_run_at",
            "last_run_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["next_run_at", "last_run_at", "created_at", "updated_at"]
        extra_kwargs = {"cron": {"validators": []}, "name": {"validators": []}}

    def get_description(self, schedule: Schedule) -> str:
        return cron.describe(schedule.cron)

    def get_next_runs(self, schedule: Schedule) -> list[str]:
        if not schedule.enabled or schedule.next_run_at is None:
            return []
        from django.utils import timezone

        slots = cron.next_slots(schedule.cron, schedule.time_zone, after=timezone.now(), count=5)
        return [slot.isoformat() for slot in slots]


class ScheduleUpdateSerializer(ScheduleSerializer):
    board = BoardField(read_only=True)


class SchedulePreviewRequestSerializer(serializers.Serializer):
    board = BoardField()
    cron = serializers.CharField(max_length=200)
    time_zone = serializers.CharField(max_length=100, default="UTC")


class SchedulePreviewSerializer(serializers.Serializer):
    cron = serializers.CharField()
    time_zone = serializers.CharField()
    description = serializers.CharField()
    next_runs = serializers.ListField(child=serializers.CharField())
    last_week = serializers.IntegerField()


class AutomationSerializer(serializers.ModelSerializer):
    board = BoardField()
    trigger = serializers.ChoiceField(choices=Trigger.choices)
    trigger_params = serializers.JSONField(required=False)
    conditions = serializers.JSONField(required=False)
    actions = serializers.JSONField()

    class Meta:
        model = Automation
        fields = [
            "id",
            "board",
            "name",
            "enabled",
            "trigger",
            "trigger_params",
            "conditions",
            "actions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"name": {"validators": []}}


class AutomationUpdateSerializer(AutomationSerializer):
    board = BoardField(read_only=True)
    trigger = serializers.ChoiceField(choices=Trigger.choices, required=False)
    actions = serializers.JSONField(required=False)


class AutomationPreviewRequestSerializer(serializers.Serializer):
    board = BoardField()
    trigger = serializers.ChoiceField(choices=Trigger.choices)
    trigger_params = serializers.JSONField(required=False)
    conditions = serializers.JSONField(required=False)


class AutomationPreviewSerializer(serializers.Serializer):
    fired = serializers.IntegerField()
    days = serializers.IntegerField()
    scanned = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField())


class TaskTemplateSerializer(serializers.ModelSerializer):
    board = BoardField()
    tags = serializers.JSONField(required=False)
    checklist = serializers.JSONField(required=False)

    class Meta:
        model = TaskTemplate
        fields = [
            "id",
            "board",
            "name",
            "title",
            "description",
            "priority",
            "tags",
            "checklist",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        extra_kwargs = {"name": {"validators": []}}


class TaskTemplateUpdateSerializer(TaskTemplateSerializer):
    board = BoardField(read_only=True)


class PipelineTemplateSerializer(serializers.ModelSerializer):
    board = BoardField()
    steps = serializers.JSONField()

    class Meta:
        model = PipelineTemplate
        fields = ["id", "board", "name", "description", "steps", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {"name": {"validators": []}}


class PipelineTemplateUpdateSerializer(PipelineTemplateSerializer):
    board = BoardField(read_only=True)
    steps = serializers.JSONField(required=False)


class PipelineSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    tasks = serializers.SerializerMethodField()

    class Meta:
        model = Pipeline
        fields = ["id", "board", "template", "name", "started_by", "created_at", "progress", "tasks"]

    def get_progress(self, pipeline: Pipeline) -> dict:
        return pipeline_progress(pipeline)

    def get_tasks(self, pipeline: Pipeline) -> list[dict]:
        return [
            {"key": step.key, "task": step.task_id, "title": step.task.title, "status": step.task.status}
            for step in pipeline.steps.select_related("task")
        ]


class ActionOutcomeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActionOutcome
        fields = [
            "id",
            "board",
            "source_kind",
            "source_id",
            "source_name",
            "firing",
            "action",
            "status",
            "task",
            "message",
            "detail",
            "depth",
            "created_at",
        ]
