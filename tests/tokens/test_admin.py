"""The API token admin: lists tokens without their digest, and revokes them."""

from __future__ import annotations

from tests.factories import ApiTokenFactory
from tokens.models import ApiToken

LIST = "/admin/tokens/apitoken/"


def test_the_admin_lists_tokens_but_never_the_digest_or_key(staff_client, user):
    token = ApiTokenFactory(user=user, name="tax script")
    stored = ApiToken.objects.get()

    listing = staff_client.get(LIST).content.decode()
    page = staff_client.get(f"{LIST}{token.pk}/change/").content.decode()

    assert "tax script" in listing and token.prefix in listing
    for html in (listing, page):
        assert stored.digest not in html
        assert token.key not in html


def test_the_admin_revokes_selected_tokens(staff_client, user):
    kept = ApiTokenFactory(user=user)
    gone = ApiTokenFactory(user=user)

    response = staff_client.post(
        LIST, {"action": "revoke", "_selected_action": [gone.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "1 token revoked." in response.content.decode()
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [kept.pk]


def test_tokens_cannot_be_added_in_the_admin(staff_client):
    assert staff_client.get(f"{LIST}add/").status_code == 403
