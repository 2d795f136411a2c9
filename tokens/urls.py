"""API token pages, under /accounts/tokens/."""

from django.urls import path

from tokens import views

app_name = "tokens"

urlpatterns = [
    path("", views.token_list, name="list"),
    path("<int:pk>/revoke/", views.token_revoke, name="revoke"),
]
