from django.urls import path

from boards import views

app_name = "boards"

urlpatterns = [
    path("", views.board_list, name="board-list"),
    path("activity/", views.activity_feed, name="activity"),
    path("activity/<int:event_id>/item/", views.org_activity_item, name="activity-item-org"),
    path("tokens/", views.personal_tokens, name="personal-tokens"),
    path("organizations/switch/", views.switch_organization, name="switch-organization"),
    path("boards/new/", views.board_create, name="board-create"),
    path("boards/<int:board_id>/", views.board_detail, name="board-detail"),
    path("boards/<int:board_id>/settings/", views.board_settings, name="board-settings"),
    path("boards/<int:board_id>/archive/", views.board_archive, name="board-archive"),
    path("boards/<int:board_id>/activity/", views.board_activity, name="board-activity"),
    path("boards/<int:board_id>/activity/<int:event_id>/item/", views.activity_item, name="activity-item"),
    path("boards/<int:board_id>/tasks/new/", views.task_create, name="task-create"),
    path("boards/<int:board_id>/tasks/<int:task_id>/", views.task_detail, name="task-detail"),
    path("boards/<int:board_id>/tasks/<int:task_id>/card/", views.task_card, name="task-card"),
    path("boards/<int:board_id>/tasks/<int:task_id>/move/", views.task_move, name="task-move"),
    path("boards/<int:board_id>/tasks/<int:task_id>/assign/", views.task_assign, name="task-assign"),
    path(
        "boards/<int:board_id>/tasks/<int:task_id>/dependencies/",
        views.task_dependency,
        name="task-dependency",
    ),
    path(
        "boards/<int:board_id>/approvals/<int:approval_id>/decide/",
        views.approval_decide,
        name="approval-decide",
    ),
]
