from django.urls import path

from usage import views

app_name = "usage"

urlpatterns = [
    path("", views.usage_page, name="usage"),
    path("export.csv", views.usage_csv, name="usage-csv"),
    path("budgets/", views.budgets_page, name="budgets"),
    path("budgets/<int:pk>/delete/", views.budget_delete, name="budget-delete"),
    path("prices/", views.price_set, name="price-set"),
]
