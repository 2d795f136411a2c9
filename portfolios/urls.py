"""Portfolio pages."""

from django.urls import path

from portfolios import views

app_name = "portfolios"

urlpatterns = [
    path("", views.portfolio_list, name="list"),
    path("new/", views.portfolio_create, name="create"),
    path("<int:pk>/", views.portfolio_detail, name="detail"),
    path("<int:pk>/edit/", views.portfolio_edit, name="edit"),
    path("<int:pk>/delete/", views.portfolio_delete, name="delete"),
    path("<int:pk>/transactions/", views.transaction_list, name="transactions"),
    path("<int:pk>/realized/", views.realized_report, name="realized"),
    path("<int:pk>/realized.csv", views.realized_export, name="realized-export"),
    path(
        "<int:pk>/transactions/new/",
        views.transaction_create,
        name="transaction-create",
    ),
    path(
        "<int:pk>/transactions/export/",
        views.transaction_export,
        name="transaction-export",
    ),
    path(
        "<int:pk>/transactions/import/",
        views.transaction_import,
        name="transaction-import",
    ),
    path(
        "<int:pk>/transactions/<int:tid>/edit/",
        views.transaction_edit,
        name="transaction-edit",
    ),
    path(
        "<int:pk>/transactions/<int:tid>/delete/",
        views.transaction_delete,
        name="transaction-delete",
    ),
]
