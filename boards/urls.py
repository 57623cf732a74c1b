from django.urls import path

from boards import views

app_name = "boards"

urlpatterns = [
    path("", views.board_list, name="board-list"),
    path("activity/", views.activity_feed, name="activity"),
]
