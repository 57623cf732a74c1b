from django.urls import path

from overview import exports, views

app_name = "overview"

urlpatterns = [
    path("", views.overview_page, name="overview"),
    path("numbers/", views.numbers_fragment, name="numbers"),
    path("fleet/", views.fleet_fragment, name="fleet"),
    path("onboarding/", views.onboarding_fragment, name="onboarding"),
    path("onboarding/dismiss/", views.onboarding_dismiss, name="onboarding-dismiss"),
    path("palette/", views.palette_actions, name="palette-actions"),
    path("exports/", exports.export_page, name="exports"),
    path("exports/<str:dataset>/", exports.export_download, name="export"),
]
