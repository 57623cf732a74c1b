"""Serializers of the standups API: posted standups, previews and an organization's settings."""

from __future__ import annotations

from rest_framework import serializers

from core.ids import MAX_ID
from deliveries.models import Subscription
from standups import figures as standup_figures
from standups.models import Standup, StandupSettings


class StandupSerializer(serializers.ModelSerializer):
    sentences = serializers.SerializerMethodField()

    class Meta:
        model = Standup
        fields = [
            "id",
            "organization",
            "board",
            "date",
            "time_zone",
            "quiet",
            "sentences",
            "figures",
            "chat_message",
            "delivery",
            "emailed_at",
            "email_count",
            "created_at",
        ]
        read_only_fields = fields

    def get_sentences(self, standup: Standup) -> list[str]:
        return standup_figures.sentences(standup.figures)


class StandupPreviewQuery(serializers.Serializer):
    organization = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    board = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    date = serializers.CharField(required=False, allow_blank=True, max_length=10)


class StandupSettingsSerializer(serializers.ModelSerializer):
    hour = serializers.IntegerField(min_value=0, max_value=23, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    subscription = serializers.PrimaryKeyRelatedField(
        queryset=Subscription.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = StandupSettings
        fields = [
            "organization",
            "enabled",
            "hour",
            "time_zone",
            "post_to_chat",
            "subscription",
            "updated_at",
        ]
        read_only_fields = ["organization", "updated_at"]
