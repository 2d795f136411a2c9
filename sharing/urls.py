"""Share pages: /portfolios/<id>/share/ for the owner, /share/<token>/ for anyone."""

from django.urls import path

from sharing import views

app_name = "sharing"

urlpatterns = [
    path("portfolios/<int:pk>/share/", views.share_manage, name="manage"),
    path("portfolios/<int:pk>/share/revoke/", views.share_revoke, name="revoke"),
    path("share/<str:token>/", views.shared_portfolio, name="public"),
]
