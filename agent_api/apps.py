from django.apps import AppConfig


class AgentApiConfig(AppConfig):
    """The REST API agents call with their tokens, and the human API for agents and their tokens.
    It owns no models: it calls the domain apps' services, so it sits above them."""

    name = "agent_api"
    verbose_name = "Agent API"
