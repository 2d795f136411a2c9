"""The portfolio page's History charts: what the lines, bands, legend and table say.

One small portfolio throughout. A mid-cap coin and a stablecoin, priced at noon
on 1–3 January 2026:
- 1 Jan: buy 10 COIN at $100 → value $1,000, net invested $1,000 (COIN 100 %);
- 2 Jan: buy 1,000 USDC at $1 → value $2,000, net invested $2,000 (50 / 50);
- 3 Jan: COIN is $150 → value $2,500, net invested $2,000 (COIN 60 %, USDC 40 %).

The value plot spans $1,000–$2,500, kept 6 % of the span ($90) clear above
and below: $910–$2,590, 180 px tall, so y = 180 − (v − 910) ÷ 1,680 × 180:
$1,000 → 170.4, $2,000 → 63.2, $2,500 → 9.6. The days sit at x = 0, 500 and
1,000 of the plot's 1,000 units across.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape

import pytest

from portfolios import services
from portfolios.models import Portfolio, Transaction
from tests.factories import AssetFactory, CategoryFactory, MarketSnapshotFactory
from valuations import indices
from valuations.models import Asset

D = Decimal

pytestmark = pytest.mark.django_db


def _noon(day: int) -> datetime:
    return datetime(2026, 1, day, 12, tzinfo=UTC)


def _snapshot(asset: Asset, day: int, price: str) -> None:
    MarketSnapshotFactory(
        asset=asset,
        taken_at=_noon(day),
        price=D(price),
        circulating_supply=asset.circulating_supply,
    )


def _buy(portfolio: Portfolio, asset: Asset, quantity: str, price: str, day: int):
    services.record_transaction(
        portfolio=portfolio,
        asset=asset,
        kind=Transaction.Kind.BUY,
        quantity=D(quantity),
        unit_price=D(price),
        fee=D(0),
        executed_at=_noon(day).replace(hour=13),
    )


@pytest.fixture
def small(portfolio) -> Portfolio:
    coin = AssetFactory(
        slug="coin",
        symbol="coin",
        name="Coin",
        price=D("150"),
        circulating_supply=D("50000000"),  # $5B to $7.5B: mid cap
    )
    usdc = AssetFactory(
        slug="usd-coin",
        symbol="usdc",
        name="USDC",
        price=D("1"),
        circulating_supply=D("50000000000"),
        categories=[CategoryFactory(slug="stablecoins", is_stablecoin=True)],
    )
    for day, price in ((1, "100"), (2, "100"), (3, "150")):
        _snapshot(coin, day, price)
        _snapshot(usdc, day, "1")
    _buy(portfolio, coin, "10", "100", 1)
    _buy(portfolio, usdc, "1000", "1", 2)
    return portfolio


def _bitcoin(prices: tuple[str, str, str]) -> None:
    bitcoin = AssetFactory(
        slug="bitcoin",
        symbol="btc",
        name="Bitcoin",
        price=D(prices[-1]),
        circulating_supply=D("20000000"),
    )
    for day, price in enumerate(prices, start=1):
        _snapshot(bitcoin, day, price)
    indices.refresh_indices()


def _figures(html: str) -> list[str]:
    """Each History figure's markup, value chart first."""
    return re.findall(r'<figure class="timechart".*?</figure>', html, re.S)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _rows(figure: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", figure, re.S).group(1)
    return [
        [_text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _legend(figure: str) -> list[str]:
    legend = re.search(r'<ul class="legend">(.*?)</ul>', figure, re.S).group(1)
    return [_text(item) for item in re.findall(r"<li[^>]*>(.*?)</li>", legend)]


def _page(client, portfolio: Portfolio) -> str:
    return client.get(portfolio.get_absolute_url(), {"range": "all"}).content.decode()


def test_value_and_net_invested_are_two_lines_on_one_scale(client_logged_in, small):
    value_chart, _ = _figures(_page(client_logged_in, small))

    assert '<polyline class="line value" points="0,170.4 500,63.2 1000,9.6"/>' in (
        value_chart
    )
    assert (
        '<polyline class="line invested" points="0,170.4 500,63.2 1000,63.2"/>'
    ) in value_chart
    # Gridlines on round steps of $500 inside $910–$2,590, labelled for people.
    labels = re.findall(r'<text x="-6"[^>]*>([^<]+)</text>', value_chart)
    assert labels == ["$1k", "$1.5k", "$2k", "$2.5k"]
    assert re.findall(r"<text x=\"[\d.]+%\"[^>]*>([^<]+)</text>", value_chart) == [
        "1 Jan",
        "2 Jan",
        "3 Jan",
    ]


def test_value_chart_summary_legend_and_table_give_every_figure(
    client_logged_in, small
):
    value_chart, _ = _figures(_page(client_logged_in, small))

    assert (
        'role="img" aria-label="Value rose from $1,000 on 1 Jan 2026 to $2,500 on '
        '3 Jan 2026; net invested rose from $1,000 to $2,000."'
    ) in value_chart
    # The legend names each line and reads out the last day until a cursor moves.
    assert '<p class="when">3 Jan 2026</p>' in value_chart
    assert _legend(value_chart) == ["Value $2,500", "Net invested $2,000"]
    assert "Show the data as a table</summary>" in value_chart
    assert _rows(value_chart) == [
        ["1 Jan 2026", "$1,000", "$1,000"],
        ["2 Jan 2026", "$2,000", "$2,000"],
        ["3 Jan 2026", "$2,500", "$2,000"],
    ]


def test_without_bitcoin_prices_there_is_no_benchmark_line_or_legend_entry(
    client_logged_in, small
):
    html = _page(client_logged_in, small)
    value_chart, _ = _figures(html)

    assert 'class="line benchmark"' not in value_chart
    assert "Bitcoin" not in value_chart


def test_the_same_money_in_bitcoin_is_drawn_and_named_when_prices_are_known(
    client_logged_in, small
):
    # $1,000 buys 0.02 BTC at $50,000; the $1,000 of 2 Jan buys 0.02 more:
    # $2,000; at $40,000 on 3 Jan the 0.04 BTC are worth $1,600 → y 106.1.
    _bitcoin(("50000", "50000", "40000"))

    value_chart, _ = _figures(_page(client_logged_in, small))

    assert (
        '<polyline class="line benchmark" points="0,170.4 500,63.2 1000,106.1"/>'
    ) in value_chart
    assert _legend(value_chart) == [
        "Value $2,500",
        "Net invested $2,000",
        "The same money in Bitcoin $1,600",
    ]
    assert "; the same money in Bitcoin rose from $1,000 to $1,600." in value_chart
    assert _rows(value_chart)[-1] == ["3 Jan 2026", "$2,500", "$2,000", "$1,600"]


def test_tier_mix_is_stacked_areas_with_each_band_as_tall_as_its_weight(
    client_logged_in, small
):
    _, mix_chart = _figures(_page(client_logged_in, small))

    # 180 px is 100 %: mid is 100 %, 50 %, 60 % → its top at 0, 90 and 72 px
    # from the top; the stablecoins fill the rest, from there up to 0.
    bands = dict(
        re.findall(r'<polygon class="band seg-(\w+)" points="([^"]+)"/>', mix_chart)
    )
    assert bands == {
        "mid": "0,0 500,90 1000,72 1000,180 500,180 0,180",
        "stable": "0,0 500,0 1000,0 1000,72 500,90 0,0",
    }
    heights = {
        key: [
            round(float(b) - float(t), 1)
            for t, b in zip(
                [p.split(",")[1] for p in points.split()[:3]],
                [p.split(",")[1] for p in points.split()[3:][::-1]],
                strict=True,
            )
        ]
        for key, points in bands.items()
    }
    assert heights == {"mid": [180, 90, 108], "stable": [0, 90, 72]}
    assert _legend(mix_chart) == ["Mid cap 60.0 %", "Stablecoins 40.0 %"]
    assert _rows(mix_chart) == [
        ["1 Jan 2026", "100.0 %", "0.0 %"],
        ["2 Jan 2026", "50.0 %", "50.0 %"],
        ["3 Jan 2026", "60.0 %", "40.0 %"],
    ]
    assert (
        'aria-label="Tier mix from 1 Jan 2026 to 3 Jan 2026: mid cap 100.0 % on '
        '1 Jan 2026; mid cap 60.0 %, stablecoins 40.0 % on 3 Jan 2026."'
    ) in mix_chart


def test_each_chart_has_a_slider_over_its_days_for_the_keyboard(
    client_logged_in, small
):
    html = _page(client_logged_in, small)

    sliders = re.findall(r'<input type="range"[^>]*>', html)
    assert sliders == [
        '<input type="range" min="0" max="2" value="2" step="1" '
        'aria-label="Value and net invested (USD): day shown">',
        '<input type="range" min="0" max="2" value="2" step="1" '
        'aria-label="Tier mix over time (share of value): day shown">',
    ]
    assert html.count('<script src="/static/capsite/charts.js" defer></script>') == 1


def test_a_portfolio_with_one_day_shows_no_chart(client_logged_in, portfolio):
    coin = AssetFactory(slug="coin", symbol="coin", price=D("100"))
    _snapshot(coin, 1, "100")
    _buy(portfolio, coin, "1", "100", 1)

    html = _page(client_logged_in, portfolio)

    assert _figures(html) == []
