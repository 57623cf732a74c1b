import logging

from django.apps import AppConfig
from django.core import checks

logger = logging.getLogger(__name__)


def rate_limit_backend_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """With RATE_LIMIT_BACKEND=redis, say clearly at start-up when Redis cannot be reached.

    A warning, not an error: at run time the limiter fails open by design (requests allowed, one
    warning, a metric), so an outage must not stop a deploy; but the operator should know.
    """
    from django.conf import settings
    from django.core.cache import caches

    if settings.RATE_LIMIT_BACKEND != "redis":
        return []
    try:
        caches["ratelimit"].get("mc:startup-check")
        client = caches["ratelimit"].client.get_client(write=True)
        client.ping()
    except Exception as exc:
        return [
            checks.Warning(
                f"RATE_LIMIT_BACKEND=redis but Redis at RATE_LIMIT_REDIS_URL is unreachable "
                f"({type(exc).__name__}); rate limits will fail open (not enforced) until it is back.",
                hint="Start Redis or fix RATE_LIMIT_REDIS_URL / REDIS_URL.",
                id="agents.W001",
            )
        ]
    return []


class AgentsConfig(AppConfig):
    name = "agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        checks.register(rate_limit_backend_check, checks.Tags.caches)
        # Servers (uvicorn, celery) do not run system checks: say it in their start-up log too.
        for message in rate_limit_backend_check():
            logger.warning("%s %s", message.msg, message.hint)
