"""/api/v1/organizations/, /api/v1/members/ and /api/v1/invitations/: start, rename and leave an
organization; change a member's role or remove them (admins); invite people by email, list and
revoke pending invitations (admins of the organization), and accept one with its token. Every
write is one teams.services call, which authorises and records the event; the invitation link is
in the creating response only."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from boards.api.serializers import OrganizationSerializer, membership_roles
from boards.api.views import OrganizationViewSet as OrganizationReadViewSet
from core.access import require_role
from core.api.views import HumanViewSet
from core.ids import MAX_ID
from core.models import Membership, Organization, Role
from core.time_zones import MAX_TIME_ZONE_LENGTH
from teams import services
from teams.models import Invitation


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "user", "username", "email", "role", "created_at"]
        read_only_fields = ["id", "organization", "user", "username", "email", "created_at"]


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    HumanViewSet,
):
    """Members of your organizations (`?organization=`). Admins change a role (PATCH `role`) or
    remove a member; an organization always keeps one admin. New members come by invitation."""

    queryset = Membership.objects.none()  # the schema generator's model; get_queryset scopes
    serializer_class = MembershipSerializer
    filterset_fields = ["organization", "role"]
    ordering_fields = ["created_at", "role"]
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Membership]:
        mine = Membership.objects.filter(user=self.request.user).values("organization_id")
        return (
            Membership.objects.filter(organization_id__in=mine)
            .select_related("user")
            .order_by("organization_id", "user__username", "id")
        )

    @extend_schema(request=MembershipRoleSerializer, responses=MembershipSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        membership = self.get_object()
        # The service authorises too; asking first means a viewer learns nothing from validation.
        require_role(user=request.user, organization=membership.organization_id, role=Role.ADMIN)
        data = MembershipRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.change_member_role(
            membership=membership, actor=self.actor, role=data.validated_data["role"]
        )
        return Response(MembershipSerializer(self.get_queryset().get(pk=membership.pk)).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.remove_member(membership=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrganizationNameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class OrganizationUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    time_zone = serializers.CharField(
        max_length=MAX_TIME_ZONE_LENGTH,
        required=False,
        help_text="An IANA name (Europe/Paris): where new schedules and standup settings start.",
    )


class OrganizationViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, OrganizationReadViewSet):
    """The organizations you belong to, with your role in each. Anyone signed in starts one (and
    is its admin); admins rename it or set its time zone (PATCH `name`, `time_zone`); any member
    leaves it (`leave`), except the last admin."""

    http_method_names = ["get", "post", "patch", "head", "options"]

    def _respond(self, organization: Organization, code: int = status.HTTP_200_OK) -> Response:
        context = {**self.get_serializer_context(), "roles": membership_roles(self.request.user)}
        return Response(OrganizationSerializer(organization, context=context).data, status=code)

    @extend_schema(request=OrganizationNameSerializer, responses={201: OrganizationSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = OrganizationNameSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organization = services.create_organization(user=request.user, name=data.validated_data["name"])
        return self._respond(organization, status.HTTP_201_CREATED)

    @extend_schema(request=OrganizationUpdateSerializer, responses=OrganizationSerializer)
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        organization = self.get_object()
        # The service authorises too; asking first means a viewer learns nothing from validation.
        require_role(user=request.user, organization=organization, role=Role.ADMIN)
        data = OrganizationUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError({"name": ["Send a name, a time_zone or both."]})
        organization = services.update_organization(
            organization=organization, actor=self.actor, **data.validated_data
        )
        return self._respond(organization)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, pk=None) -> Response:
        services.leave_organization(organization=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)
    invited_by = serializers.CharField(source="invited_by.username", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "organization", "email", "role", "state", "invited_by", "created_at", "expires_at"]
        read_only_fields = fields


class IssuedInvitationSerializer(InvitationSerializer):
    url = serializers.SerializerMethodField(help_text="The invitation link: in this response only.")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "url"]
        read_only_fields = fields

    def get_url(self, invitation: Invitation) -> str:
        return services.invitation_url(self.context["raw_token"])


class InvitationCreateSerializer(serializers.Serializer):
    # An id, not a related field: a missing organization and someone else's are both a 404.
    organization = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    email = serializers.CharField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
    send_email = serializers.BooleanField(default=True)


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)


class InvitationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, HumanViewSet
):
    """Invitations of the organizations you administer (`?organization=`), newest first."""

    queryset = Invitation.objects.none()  # the schema generator's model; get_queryset scopes
    serializer_class = InvitationSerializer
    filterset_fields = ["organization", "role"]
    ordering_fields = ["created_at", "expires_at"]

    def get_queryset(self) -> QuerySet[Invitation]:
        administered = Membership.objects.filter(user=self.request.user, role=Role.ADMIN).values(
            "organization_id"
        )
        return (
            Invitation.objects.filter(organization_id__in=administered)
            .select_related("invited_by")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=InvitationCreateSerializer, responses={201: IssuedInvitationSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        require_role(user=request.user, organization=values["organization"], role=Role.VIEWER)
        invitation, raw = services.create_invitation(
            organization=Organization.objects.get(pk=values["organization"]),
            actor=self.actor,
            email=values["email"],
            role=values["role"],
            send_email=values["send_email"],
        )
        body = IssuedInvitationSerializer(invitation, context={"raw_token": raw}).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk=None) -> Response:
        invitation = services.revoke_invitation(invitation=self.get_object(), actor=self.actor)
        return Response(InvitationSerializer(invitation).data)

    @extend_schema(request=InvitationAcceptSerializer, responses={201: MembershipSerializer})
    @action(detail=False, methods=["post"], filterset_fields=[], ordering_fields=[])
    def accept(self, request: Request) -> Response:
        """Join the organization with the invited role, using the token from the invitation link."""
        data = InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.accept_invitation(raw_token=data.validated_data["token"], user=request.user)
        membership = Membership.objects.select_related("user").get(pk=membership.pk)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)
