from django.urls import re_path

from chat.api import views

urlpatterns = [
    # Optional trailing slash, like the rest of the agent API.
    re_path(
        r"^agent/boards/(?P<board_id>\d+)/chat/?$",
        views.AgentBoardChatView.as_view(),
        name="agent-api-board-chat",
    ),
]
