from django.urls import path

from automations import views

app_name = "automations"

BASE = "boards/<int:board_id>/automations/"

urlpatterns = [
    path(BASE, views.automations_page, name="automations"),
    path(f"{BASE}schedules/new/", views.schedule_edit, name="schedule-new"),
    path(f"{BASE}schedules/preview/", views.schedule_preview, name="schedule-preview"),
    path(f"{BASE}schedules/<int:schedule_id>/", views.schedule_edit, name="schedule-edit"),
    path(f"{BASE}schedules/<int:schedule_id>/run/", views.schedule_run, name="schedule-run"),
    path(
        f"{BASE}schedules/<int:schedule_id>/delete/",
        views.item_delete,
        {"kind": "schedule"},
        name="schedule-delete",
    ),
    path(f"{BASE}new/", views.automation_edit, name="automation-new"),
    path(f"{BASE}preview/", views.automation_preview, name="automation-preview"),
    path(f"{BASE}<int:automation_id>/", views.automation_edit, name="automation-edit"),
    path(
        f"{BASE}<int:automation_id>/delete/",
        views.item_delete,
        {"kind": "automation"},
        name="automation-delete",
    ),
    path(f"{BASE}templates/task/new/", views.template_new, {"kind": "task"}, name="task-template-new"),
    path(
        f"{BASE}templates/pipeline/new/",
        views.template_new,
        {"kind": "pipeline"},
        name="pipeline-template-new",
    ),
    path(
        f"{BASE}templates/task/<int:task_template_id>/use/",
        views.template_use,
        {"kind": "task"},
        name="task-template-use",
    ),
    path(
        f"{BASE}templates/pipeline/<int:pipeline_template_id>/use/",
        views.template_use,
        {"kind": "pipeline"},
        name="pipeline-template-use",
    ),
    path(
        f"{BASE}templates/task/<int:task_template_id>/delete/",
        views.item_delete,
        {"kind": "task-template"},
        name="task-template-delete",
    ),
    path(
        f"{BASE}templates/pipeline/<int:pipeline_template_id>/delete/",
        views.item_delete,
        {"kind": "pipeline-template"},
        name="pipeline-template-delete",
    ),
]
