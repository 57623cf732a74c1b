from django.urls import path

from deliveries import views

app_name = "deliveries"

urlpatterns = [
    path("", views.dead_letters, name="dead-letters"),
    path("replay", views.bulk_replay, name="bulk-replay"),
    path("<int:delivery_id>/", views.delivery_detail, name="delivery-detail"),
    path("<int:delivery_id>/replay", views.replay, name="replay"),
    path("boards/<int:board_id>/", views.board_deliveries, name="board-deliveries"),
    path("agents/<int:agent_id>/", views.agent_deliveries, name="agent-deliveries"),
    path("subscriptions/", views.subscription_list, name="subscription-list"),
    path("subscriptions/<int:subscription_id>/", views.subscription_detail, name="subscription-detail"),
]
