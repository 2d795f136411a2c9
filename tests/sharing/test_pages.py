"""The shared page (public, read-only) and the owner's share page."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from portfolios import services as ledger
from sharing import services
from sharing.models import ShareLink, hash_token
from tests.factories import PortfolioFactory
from tests.sharing.conftest import fill, share

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    """The page's text without tags, entities decoded, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _main(response) -> str:
    """The page's own content: what lies between <main> and </main>."""
    html = response.content.decode()
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def _table(html: str, css_class: str) -> list[list[str]]:
    """The text of each body cell of the table with the given class, row by row."""
    match = re.search(
        rf'<table class="(?:[^"]* )?{css_class}(?: [^"]*)?"[^>]*>(.*?)</table>',
        html,
        re.S,
    )
    assert match, f"no table {css_class}"
    body = re.search(r"<tbody>(.*?)</tbody>", match.group(1), re.S).group(1)
    return [
        [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _public(token: str) -> str:
    return reverse("sharing:public", args=[token])


def _manage(portfolio) -> str:
    return reverse("sharing:manage", args=[portfolio.pk])


def _revoke(portfolio) -> str:
    return reverse("sharing:revoke", args=[portfolio.pk])


# The figures of the analysed portfolio (tests/sharing/conftest.py) -------------------

DRIFT = [
    # bucket, weight, target, drift, band: ±5 exactly (small, stable) is within.
    ["large", "60.00 %", "50.00 %", "⚠ +10.00 pts", "⚠ outside band"],
    ["mid", "20.00 %", "30.00 %", "⚠ -10.00 pts", "⚠ outside band"],
    ["small", "10.00 %", "15.00 %", "-5.00 pts", "within"],
    ["stable", "10.00 %", "5.00 %", "+5.00 pts", "within"],
    ["unranked", "0.00 %", "0.00 %", "0.00 pts", "within"],
]
DIVERSIFICATION = [
    # Tiers 6,000 / 2,000 / 1,000: p = 2/3, 2/9, 1/9; −Σ p ln p ÷ ln 3 = 0.7725.
    "Tier score (0 = one tier, 1 = even) 0.77",
    # 1 ÷ Σ p² = 1 ÷ (36 + 4 + 1)/81 = 81/41 = 1.976.
    "Effective tiers (of 3) 1.98",
    "Largest holding 60.00 %",
    # 0.6² + 0.2² + 0.1² + 0.1² = 0.42; 1 ÷ 0.42 = 2.38.
    "Herfindahl index 0.420",
    "Effective holdings 2.4",
]
# Every amount of the portfolio as the owner's page writes it: values, cost,
# P/L, totals, quantities and prices.
AMOUNTS = [
    "$10,000",
    "$7,900",
    "$2,100",
    "$6,000",
    "$4,800",
    "$1,200",
    "$1,600",
    "$400.00",
    "$500.00",
    "$50,000.00",
    "0.12",
    "1,000",
]


# The shared page -------------------------------------------------------------------


def test_anyone_with_the_link_sees_weights_drift_and_diversification_without_login(
    client: Client, analysed
):
    response = client.get(_public(share(analysed)))

    assert response.status_code == 200
    html = _main(response)
    assert "<h1>Main</h1>" in html
    assert _table(html, "holdings") == [
        ["Bitcoin BITC", "large", "60.00 %"],
        ["Chainlink CHAI", "mid", "20.00 %"],
        ["Tether TETH", "stable", "10.00 %"],
        ["Thin THIN", "small", "10.00 %"],
    ]
    assert _table(html, "drift") == DRIFT
    text = _text(html)
    for line in DIVERSIFICATION:
        assert line in text
    assert 'aria-label="Tier mix now: Large cap 60.00 %, Mid cap 20.00 %, ' in html
    assert 'aria-label="Target mix: Large cap 50.00 %, Mid cap 30.00 %, ' in html


def test_the_shared_page_hides_every_amount_by_default(client: Client, analysed):
    response = client.get(_public(share(analysed)))

    text = _text(_main(response))
    assert "Amounts are hidden: weights only." in text
    assert "$" not in text
    for amount in AMOUNTS:
        assert amount not in text, amount
    for heading in ("Value", "Cost basis", "Unrealised P/L", "Realised P/L"):
        assert heading not in text, heading


def test_the_shared_page_shows_amounts_when_the_owner_chose_to(
    client: Client, analysed
):
    response = client.get(_public(share(analysed, show_amounts=True)))

    html = _main(response)
    text = _text(html)
    assert "Value $10,000 4 holdings" in text
    assert "Cost basis $7,900" in text
    assert "Unrealised P/L $2,100" in text
    assert "Amounts are hidden" not in text
    assert _table(html, "holdings") == [
        ["Bitcoin BITC", "large", "60.00 %", "0.12", "$50,000.00", "$6,000"]
        + ["$4,800", "$1,200"],
        ["Chainlink CHAI", "mid", "20.00 %", "200", "$10.00", "$2,000"]
        + ["$1,600", "$400.00"],
        ["Tether TETH", "stable", "10.00 %", "1,000", "$1.00", "$1,000"]
        + ["$1,000", "$0.00"],
        ["Thin THIN", "small", "10.00 %", "500", "$2.00", "$1,000"]
        + ["$500.00", "$500.00"],
    ]
    values = ["$6,000", "$2,000", "$1,000", "$1,000", "$0.00"]
    assert _table(html, "drift") == [
        [row[0], value, *row[1:]] for row, value in zip(DRIFT, values, strict=True)
    ]


def test_the_shared_page_is_never_indexed_and_never_sent_as_a_referrer(
    client: Client, analysed
):
    response = client.get(_public(share(analysed)))

    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "private, no-store"
    head = response.content.decode().split("</head>", 1)[0]
    assert '<meta name="robots" content="noindex,nofollow">' in head


def test_the_shared_page_of_an_empty_portfolio_says_so(client: Client, portfolio):
    response = client.get(_public(share(portfolio)))

    assert response.status_code == 200
    assert "No holdings yet." in _text(_main(response))


def test_a_signed_in_stranger_sees_the_same_read_only_page(
    other_client: Client, analysed
):
    response = other_client.get(_public(share(analysed)))

    assert response.status_code == 200
    assert _table(_main(response), "drift") == DRIFT
    assert (
        reverse("portfolios:edit", args=[analysed.pk]) not in response.content.decode()
    )


def test_a_revoked_link_is_404_and_still_unlisted(client: Client, analysed):
    token = share(analysed)
    services.revoke_share_link(link=ShareLink.objects.get())

    response = client.get(_public(token))

    assert response.status_code == 404
    assert "Main" not in _main(response)  # the portfolio's name
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("token", ["nope", "x" * 32, "x" * 500])
def test_an_unknown_token_is_404(client: Client, analysed, token):
    share(analysed)

    assert client.get(_public(token)).status_code == 404


def test_a_new_link_revokes_the_old_one(client: Client, analysed):
    old = share(analysed)
    new = share(analysed, show_amounts=True)

    assert client.get(_public(old)).status_code == 404
    assert client.get(_public(new)).status_code == 200
    assert ShareLink.objects.active().count() == 1
    assert ShareLink.objects.count() == 2


def test_deleting_the_portfolio_deletes_its_link(client: Client, analysed):
    token = share(analysed)

    ledger.delete_portfolio(portfolio=analysed)

    assert client.get(_public(token)).status_code == 404
    assert not ShareLink.objects.exists()


def test_the_shared_page_takes_no_post(client: Client, analysed):
    response = client.post(_public(share(analysed)))

    assert response.status_code == 405
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_the_token_is_stored_only_as_its_sha256(analysed):
    token = share(analysed)

    link = ShareLink.objects.get()
    assert link.token_hash == hash_token(token)
    assert len(link.token_hash) == 64
    assert link.prefix == token[:6]
    assert len(token) == 32  # 24 random bytes
    stored = ShareLink.objects.values_list().get()
    assert not any(token in str(value) for value in stored)


# The link and the holdings, then the page: the query count is the same for 2 and
# for 20 holdings (an anonymous visitor: no session, no user).
SHARED_QUERIES = 2


@pytest.mark.parametrize("holdings", [2, 20])
def test_the_shared_page_query_budget_does_not_grow_with_holdings(
    client: Client, portfolio, holdings, django_assert_num_queries
):
    fill(portfolio, holdings)
    token = share(portfolio)

    with django_assert_num_queries(SHARED_QUERIES):
        response = client.get(_public(token))

    assert response.status_code == 200
    assert len(_table(_main(response), "holdings")) == holdings


# The owner's share page -------------------------------------------------------------


def test_the_portfolio_page_links_to_its_share_page(client_logged_in, portfolio):
    html = client_logged_in.get(portfolio.get_absolute_url()).content.decode()

    assert f'href="{_manage(portfolio)}"' in html


def test_the_share_page_offers_a_link_with_amounts_hidden_by_default(
    client_logged_in, portfolio
):
    response = client_logged_in.get(_manage(portfolio))

    html = response.content.decode()
    assert response.status_code == 200
    assert "No active link" in _text(html)
    assert 'name="show_amounts"' in html
    assert 'name="show_amounts" checked' not in html


def test_making_a_link_shows_it_once(client_logged_in, portfolio):
    response = client_logged_in.post(_manage(portfolio), {})

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    url = re.search(
        r'<input type="text" id="share-url" value="([^"]+)"', _main(response)
    )
    assert url, "no link shown"
    token = url.group(1).split("/share/")[1].rstrip("/")
    assert url.group(1) == f"http://testserver/share/{token}/"
    link = ShareLink.objects.active().get()
    assert (link.portfolio, link.show_amounts) == (portfolio, False)
    assert link.token_hash == hash_token(token)

    again = client_logged_in.get(_manage(portfolio))

    assert token not in again.content.decode()
    assert f"{token[:6]}…" in _text(again.content.decode())
    assert "Amounts hidden" in _text(again.content.decode())


def test_making_a_link_with_amounts_shows_them(client_logged_in, client, analysed):
    response = client_logged_in.post(_manage(analysed), {"show_amounts": "on"})

    url = re.search(r'id="share-url" value="http://testserver([^"]+)"', _main(response))
    assert ShareLink.objects.active().get().show_amounts is True
    assert "$10,000" in _text(_main(client.get(url.group(1))))


def test_making_a_second_link_revokes_the_first(client_logged_in, client, portfolio):
    first = share(portfolio)

    client_logged_in.post(_manage(portfolio), {})

    assert client.get(_public(first)).status_code == 404
    assert ShareLink.objects.active().count() == 1


def test_revoking_the_link_makes_its_page_404(client_logged_in, client, analysed):
    token = share(analysed)

    response = client_logged_in.post(_revoke(analysed))

    assert response.status_code == 302
    assert response.url == _manage(analysed)
    assert client.get(_public(token)).status_code == 404
    assert ShareLink.objects.get().revoked_at is not None
    page = client_logged_in.get(response.url)
    assert "Link revoked" in _text(page.content.decode())
    assert "No active link" in _text(page.content.decode())


def test_revoking_without_a_link_changes_nothing(client_logged_in, portfolio):
    response = client_logged_in.post(_revoke(portfolio), follow=True)

    assert "There is no link to revoke." in _text(response.content.decode())
    assert not ShareLink.objects.exists()


def test_revoking_takes_post_only(client_logged_in, portfolio):
    token = share(portfolio)

    assert client_logged_in.get(_revoke(portfolio)).status_code == 405
    assert ShareLink.objects.active().get().token_hash == hash_token(token)


@pytest.mark.parametrize("page", ["manage", "revoke"])
def test_another_users_portfolio_is_404_and_its_link_stays(
    other_client: Client, client: Client, analysed, page
):
    token = share(analysed)
    url = {"manage": _manage, "revoke": _revoke}[page](analysed)

    # Revoking takes POST only: a GET is refused before any lookup.
    assert other_client.get(url).status_code == {"manage": 404, "revoke": 405}[page]
    assert other_client.post(url, {"show_amounts": "on"}).status_code == 404

    link = ShareLink.objects.get()
    assert (link.revoked_at, link.show_amounts) == (None, False)
    assert client.get(_public(token)).status_code == 200


def test_my_own_other_portfolio_does_not_reach_this_link(client_logged_in, user):
    theirs = PortfolioFactory(name="Theirs")
    token = share(theirs)

    assert client_logged_in.post(_revoke(theirs)).status_code == 404
    assert client_logged_in.post(_manage(theirs)).status_code == 404
    assert ShareLink.objects.active().get().token_hash == hash_token(token)


@pytest.mark.parametrize("page", ["manage", "revoke"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_visitor_is_sent_to_log_in(client: Client, portfolio, page, method):
    url = {"manage": _manage, "revoke": _revoke}[page](portfolio)

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={url}"
    assert not ShareLink.objects.exists()


# session, user, portfolio, active link, the unread-notification count.
MANAGE_QUERIES = 5


def test_the_share_page_query_budget(
    client_logged_in, portfolio, django_assert_num_queries
):
    share(portfolio)

    with django_assert_num_queries(MANAGE_QUERIES):
        response = client_logged_in.get(_manage(portfolio))

    assert response.status_code == 200
