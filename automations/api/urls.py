"""/api/v1/schedules/, automations/, task-templates/, pipeline-templates/, pipelines/, action-outcomes/."""

from rest_framework.routers import SimpleRouter

from automations.api import views

router = SimpleRouter()
router.register("schedules", views.ScheduleViewSet, basename="schedule")
router.register("automations", views.AutomationViewSet, basename="automation")
router.register("task-templates", views.TaskTemplateViewSet, basename="task-template")
router.register("pipeline-templates", views.PipelineTemplateViewSet, basename="pipeline-template")
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("action-outcomes", views.ActionOutcomeViewSet, basename="action-outcome")

urlpatterns = router.urls
