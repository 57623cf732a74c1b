"""factory_boy factories for the core models. Secrets and tokens are issued by services, not here."""

import factory
from django.contrib.auth import get_user_model

from agents.models import Agent
from boards.models import Board, Tag, Task
from core.models import Membership, Organization, Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("correct-horse-battery-staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OPERATOR


class BoardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Board

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Board {n}")
    slug = factory.Sequence(lambda n: f"board-{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    board = factory.SubFactory(BoardFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    position = factory.Sequence(float)


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"agent-{n}")
