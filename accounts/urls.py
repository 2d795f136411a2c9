from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("confirm/<str:uidb64>/<str:token>/", views.confirm, name="confirm"),
    path("confirm/again/", views.resend, name="resend"),
    path("data/capsite-export.json", views.export, name="export"),
    path("delete/", views.delete, name="delete"),
]
