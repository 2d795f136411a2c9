from django.urls import path

from accounts import api

urlpatterns = [
    path("account/", api.AccountView.as_view(), name="account"),
    path("account/export/", api.ExportView.as_view(), name="account-export"),
    path("account/delete/", api.DeleteAccountView.as_view(), name="account-delete"),
]
