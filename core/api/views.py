"""The one base of the human API: every viewset for people derives from HumanViewSet.

It fixes how people authenticate (a personal token for scripts, else the browser session with
CSRF) and that agents are refused, so that no resource can forget either. Scoping stays in each
viewset's get_queryset and roles in the services.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response

from core.access import member_organization_ids, require_role
from core.actors import Actor
from core.api.authentication import PersonalTokenAuthentication
from core.api.permissions import IsHuman
from core.models import Role

# A personal token first (scripts, no CSRF: no cookie is involved), else the session (CSRF on).
HUMAN_AUTHENTICATION = [PersonalTokenAuthentication, SessionAuthentication]


class HumanAPIMixin:
    authentication_classes = HUMAN_AUTHENTICATION
    permission_classes = [IsHuman]

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.request.user)


class HumanViewSet(HumanAPIMixin, viewsets.GenericViewSet):
    """A viewset for people; subclasses add only the mixins they need."""


# An organization's resource that members read and admins write through its services.
# Reads are the caller's organizations' rows (another organization's is a 404). Writes validate
# with the serializer, then call the subclass's `create_through_service`, `update_through_service`
# or `delete_through_service`; an update asks for the admin role before the body is validated, so
# a member learns nothing from a 400. Responses always use `serializer_class` (the update form may
# be another serializer: `update_serializer_class`).
# A comment, not a docstring: the schema generator would show a docstring as the description of
# every subclass's operations.
class OrganizationResourceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    HumanViewSet,
):
    ordering = ("name", "id")
    update_serializer_class: type[serializers.Serializer]

    def get_queryset(self) -> models.QuerySet:
        model = self.queryset.model
        return model.objects.filter(organization_id__in=member_organization_ids(self.request.user)).order_by(
            *self.ordering
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in ("update", "partial_update"):
            return self.update_serializer_class
        return self.serializer_class

    def create_through_service(self, **fields: Any) -> models.Model:
        raise NotImplementedError

    def update_through_service(self, instance: Any, **fields: Any) -> models.Model:
        raise NotImplementedError

    def delete_through_service(self, instance: Any) -> None:
        raise NotImplementedError

    def create(self, request: Request, *args, **kwargs) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        instance = self.create_through_service(**body.validated_data)
        return Response(self.serializer_class(instance).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args, **kwargs) -> Response:
        instance = self.get_object()
        require_role(user=request.user, organization=instance.organization_id, role=Role.ADMIN)
        body = self.get_serializer(instance, data=request.data, partial=kwargs.get("partial", False))
        body.is_valid(raise_exception=True)
        instance = self.update_through_service(instance, **body.validated_data)
        return Response(self.serializer_class(instance).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        self.delete_through_service(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
