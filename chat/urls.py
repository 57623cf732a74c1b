from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("boards/<int:board_id>/chat/", views.chat_panel, name="panel"),
    path("boards/<int:board_id>/chat/history/", views.chat_history, name="history"),
    path("boards/<int:board_id>/chat/pinned/", views.chat_pinned, name="pinned"),
    path("boards/<int:board_id>/chat/mentionable/", views.chat_mentionable, name="mentionable"),
    path("boards/<int:board_id>/chat/<int:message_id>/", views.chat_message, name="message"),
    path("boards/<int:board_id>/chat/<int:message_id>/edit/", views.chat_edit, name="edit"),
    path("boards/<int:board_id>/chat/<int:message_id>/delete/", views.chat_delete, name="delete"),
    path("boards/<int:board_id>/chat/<int:message_id>/pin/", views.chat_pin, name="pin"),
]
