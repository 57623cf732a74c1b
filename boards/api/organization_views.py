"""The human API for an organization's board groups and the roles a member can carry. Thin
viewsets: reads scoped to the caller's memberships, every write one call of boards.services,
which authorises (admins only) and records the event. Members are teams' (teams.api.views)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boards import services
from boards.models import BoardGroup
from core.access import require_role
from core.api.views import HumanAPIMixin, HumanViewSet
from core.ids import MAX_ID
from core.models import ROLE_RANK, Organization, Role


class BoardGroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = BoardGroup
        fields = ["id", "organization", "name", "position"]
        read_only_fields = fields


class BoardGroupCreateSerializer(serializers.Serializer):
    # An id, not a related field: an organization that does not exist and one that is not yours
    # must both be a 404 (require_role), or ids could be probed.
    organization = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    name = serializers.CharField(max_length=200)


class BoardGroupRenameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class BoardGroupOrderSerializer(serializers.Serializer):
    organization = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    groups = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), max_length=1000, allow_empty=True
    )


class RoleSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    rank = serializers.IntegerField()
    description = serializers.CharField()


ROLE_DESCRIPTIONS = {
    Role.VIEWER: "Reads boards, tasks, activity and agents.",
    Role.OPERATOR: "Also edits work: tasks, comments, approvals, chat.",
    Role.ADMIN: "Also manages boards, members, invitations, agents, webhooks and subscriptions.",
}


class BoardGroupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    HumanViewSet,
):
    """Board groups of your organizations, in their order. Admins create, rename (PATCH `name`),
    reorder and delete them; deleting a group keeps its boards, ungrouped."""

    queryset = BoardGroup.objects.none()  # the schema generator's model; get_queryset scopes
    serializer_class = BoardGroupSerializer
    filterset_fields = ["organization"]
    ordering_fields = ["position", "name"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[BoardGroup]:
        return BoardGroup.objects.filter(organization__memberships__user=self.request.user).order_by(
            "organization_id", "position", "name", "id"
        )

    @extend_schema(request=BoardGroupCreateSerializer, responses=BoardGroupSerializer)
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = BoardGroupCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization_id = data.validated_data["organization"]
        require_role(user=request.user, organization=organization_id, role=Role.VIEWER)  # 404 for strangers
        group = services.create_board_group(
            organization=Organization.objects.get(pk=organization_id),
            actor=self.actor,
            name=data.validated_data["name"],
        )
        return Response(BoardGroupSerializer(group).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BoardGroupRenameSerializer, responses=BoardGroupSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        data = BoardGroupRenameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = services.rename_board_group(
            group=self.get_object(), actor=self.actor, name=data.validated_data["name"]
        )
        return Response(BoardGroupSerializer(group).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.delete_board_group(group=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=BoardGroupOrderSerializer, responses=BoardGroupSerializer(many=True))
    @action(detail=False, methods=["post"], filterset_fields=[], ordering_fields=[])
    def reorder(self, request: Request) -> Response:
        """Every group of the organization, once each, in the new order."""
        data = BoardGroupOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization_id = data.validated_data["organization"]
        require_role(user=request.user, organization=organization_id, role=Role.VIEWER)
        groups = services.reorder_board_groups(
            organization=Organization.objects.get(pk=organization_id),
            actor=self.actor,
            group_ids=data.validated_data["groups"],
        )
        return Response(BoardGroupSerializer(groups, many=True).data)


class RoleListView(HumanAPIMixin, APIView):
    """The roles a membership or an invitation can carry, lowest first."""

    @extend_schema(responses=RoleSerializer(many=True))
    def get(self, request: Request) -> Response:
        roles = [
            {
                "value": role.value,
                "label": role.label,
                "rank": ROLE_RANK[role],
                "description": ROLE_DESCRIPTIONS[role],
            }
            for role in Role
        ]
        return Response(RoleSerializer(roles, many=True).data)
