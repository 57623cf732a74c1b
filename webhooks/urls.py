from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhook_index, name="webhook-index"),
    path("boards/<int:board_id>/", views.board_webhooks, name="board-webhooks"),
    path("<int:webhook_id>/", views.webhook_detail, name="webhook-detail"),
    path("<int:webhook_id>/enabled/", views.webhook_enabled, name="webhook-enabled"),
    path("<int:webhook_id>/rotate/", views.webhook_rotate, name="webhook-rotate"),
    path("<int:webhook_id>/delete/", views.webhook_delete, name="webhook-delete"),
    path("payloads/<int:payload_id>/", views.payload_detail, name="payload-detail"),
    path("payloads/<int:payload_id>/replay/", views.payload_replay, name="payload-replay"),
]
