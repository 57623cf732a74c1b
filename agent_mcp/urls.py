from django.urls import path

from agent_mcp import views

app_name = "agent_mcp"

urlpatterns = [
    path("<int:pk>/connect/", views.agent_connect, name="agent-connect"),
]
