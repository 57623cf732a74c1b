import pytest


@pytest.fixture(autouse=True)
def _roomy_post_rate(settings):
    """Tests that write many messages are not about the post rate (its own tests set it)."""
    settings.CHAT_POST_RATE = "10000/60s"
