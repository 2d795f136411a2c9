"""The share-link admin: staff see links and revoke them, never their tokens."""

from __future__ import annotations

import pytest
from django.test import Client

from sharing.models import ShareLink
from tests.sharing.conftest import share

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/sharing/sharelink/"


def test_staff_see_links_by_prefix_without_their_hash(staff_client: Client, portfolio):
    token = share(portfolio)
    link = ShareLink.objects.get()

    changelist = staff_client.get(CHANGELIST)
    detail = staff_client.get(f"{CHANGELIST}{link.pk}/change/")

    assert changelist.status_code == detail.status_code == 200
    for response in (changelist, detail):
        html = response.content.decode()
        assert token[:6] in html
        assert token not in html
        assert link.token_hash not in html


def test_staff_revoke_selected_links(staff_client: Client, client: Client, portfolio):
    token = share(portfolio)

    response = staff_client.post(
        CHANGELIST,
        {"action": "revoke", "_selected_action": [ShareLink.objects.get().pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "1 link revoked." in response.content.decode()
    assert client.get(f"/share/{token}/").status_code == 404


def test_staff_cannot_add_a_link(staff_client: Client):
    assert staff_client.get(f"{CHANGELIST}add/").status_code == 403
