from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/read-all/", views.notification_read_all, name="read-all"),
    path("notifications/<int:notification_id>/read/", views.notification_open, name="read"),
    path("boards/<int:board_id>/mute/", views.board_mute, name="board-mute"),
    path("boards/<int:board_id>/tasks/<int:task_id>/watch/", views.task_watch, name="task-watch"),
]
