"""Stored market history per day (valuations.history): caps, shares, refreshes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AssetFactory, MarketSnapshotFactory
from tests.valuations.market_history_data import BILLION, DAYS, build_market
from valuations.history import (
    history_charts,
    history_point,
    refresh_market_history,
)
from valuations.imports import load_bundled_market_data
from valuations.indices import refresh_indices
from valuations.models import Asset, MarketHistoryDay, MarketSnapshot
from valuations.state import current_state, refresh_market_state
from valuations.volatility import market_volatility, refresh_volatility

D = Decimal

pytestmark = pytest.mark.django_db


def _caps(row: MarketHistoryDay) -> tuple:
    def b(value):
        return None if value is None else value / BILLION

    return (
        row.day,
        b(row.market_cap),
        row.asset_count,
        b(row.bitcoin_market_cap),
        b(row.ethereum_market_cap),
        b(row.large_market_cap),
        b(row.mid_market_cap),
        b(row.small_market_cap),
    )


def test_refresh_stores_each_days_covered_caps_by_last_snapshot_and_tier():
    build_market()

    assert refresh_market_history() == 3

    rows = [_caps(row) for row in MarketHistoryDay.objects.order_by("day")]
    assert rows == [
        (DAYS[0], D(1600), 4, D(1200), D(390), D(1590), D("9.5"), D("0.5")),
        # Bitcoin's 20:00 snapshot (1,000) beats its 08:00 one; Solana's $10B
        # is exactly the large boundary, which belongs to the upper tier.
        (DAYS[1], D(1250), 3, D(1000), D(240), D(1250), D(0), D(0)),
        # Tiny's snapshot has no price: no cap, not covered.
        (DAYS[2], D(240), 1, None, D(240), D(240), D(0), D(0)),
    ]


def test_history_point_serves_dominance_flippening_and_tier_shares():
    build_market()
    refresh_market_history()
    today = current_state().total_market_cap
    assert today == 1250 * BILLION

    points = [history_point(row, today) for row in MarketHistoryDay.objects.all()]

    figures = [
        (
            p.covered_share,
            p.bitcoin_dominance,
            p.ethereum_dominance,
            p.flippening_ratio,
            p.tiers,
        )
        for p in points
    ]
    assert figures == [
        (
            D(100),  # BTC, ETH and SOL are 1,250 today; TINY has no cap today
            D(75),
            D("24.375"),
            D("0.325"),
            {"large": D("99.375"), "mid": D("0.59375"), "small": D("0.03125")},
        ),
        (D(100), D(80), D("19.2"), D("0.24"), {"large": 100, "mid": 0, "small": 0}),
        (D("19.2"), None, D(100), None, {"large": 100, "mid": 0, "small": 0}),
    ]


def _covered_shares() -> list[Decimal | None]:
    today = current_state().total_market_cap
    return [
        history_point(row, today).covered_share
        for row in MarketHistoryDay.objects.all()
    ]


def test_an_asset_without_history_lowers_what_every_day_covers():
    build_market()
    refresh_market_history()
    # $750B today and no snapshot yet: today's total is 2,000.
    AssetFactory(slug="newcoin", price=D(750), circulating_supply=D(1_000_000_000))
    refresh_market_state()

    # 1,250 ÷ 2,000 on the days with BTC, ETH and SOL; 240 ÷ 2,000 with ETH alone.
    assert _covered_shares() == [D("62.5"), D("62.5"), D(12)]


def test_covered_shares_follow_todays_prices_without_new_snapshots():
    assets = build_market()
    refresh_market_history()
    Asset.objects.filter(pk=assets["bitcoin"].pk).update(price=D(100_000))
    refresh_market_state(asset_ids=[assets["bitcoin"].pk])

    # BTC is 2,000 today: the total is 2,250, and 3 Mar covers only ETH's 240.
    shares = _covered_shares()
    assert shares[:2] == [D(100), D(100)]
    assert round(shares[2], 6) == D("10.666667")


def test_no_total_today_gives_no_covered_share():
    build_market()
    refresh_market_history()

    point = history_point(MarketHistoryDay.objects.first(), D(0))

    assert point.covered_share is None
    assert point.bitcoin_dominance == 75


def test_refresh_since_a_day_keeps_earlier_days_and_equals_a_rebuild():
    assets = build_market()
    refresh_market_history()
    first = MarketHistoryDay.objects.get(day=DAYS[0])
    MarketSnapshot.objects.filter(
        asset=assets["ethereum"], taken_at__date=DAYS[1]
    ).update(price=D(2500))

    assert refresh_market_history(since=DAYS[1]) == 2

    assert MarketHistoryDay.objects.get(day=DAYS[0]).pk == first.pk  # untouched
    changed = MarketHistoryDay.objects.get(day=DAYS[1])
    assert changed.market_cap == 1310 * BILLION  # 1,000 + 300 + 10
    assert changed.ethereum_market_cap == 300 * BILLION
    incremental = [_caps(row) for row in MarketHistoryDay.objects.all()]
    refresh_market_history()
    assert [_caps(row) for row in MarketHistoryDay.objects.all()] == incremental


def test_refresh_drops_days_whose_snapshots_are_gone():
    build_market()
    refresh_market_history()
    MarketSnapshot.objects.filter(taken_at__date=DAYS[2]).delete()

    assert refresh_market_history(since=DAYS[2]) == 0

    assert list(MarketHistoryDay.objects.values_list("day", flat=True)) == DAYS[:2]


def test_snapshot_writes_refresh_the_history_once_committed(
    django_capture_on_commit_callbacks,
):
    btc = AssetFactory(slug="bitcoin", symbol="btc")
    with django_capture_on_commit_callbacks(execute=True):
        MarketSnapshotFactory(
            asset=btc,
            taken_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
            price=D(3),
            circulating_supply=D(1000),
        )

    row = MarketHistoryDay.objects.get()
    assert (row.day, row.market_cap, row.bitcoin_market_cap) == (DAYS[0], 3000, 3000)


def test_refresh_runs_the_same_queries_however_many_assets():
    build_market()
    with CaptureQueriesContext(connection) as few:
        refresh_market_history()
    for n in range(50):
        asset = AssetFactory(slug=f"extra-{n}", price=D(1), circulating_supply=D(5))
        MarketSnapshot.objects.create(
            asset=asset,
            taken_at=datetime(2026, 3, 2, 1, tzinfo=UTC),
            price=D(1),
            circulating_supply=D(5),
        )
    with CaptureQueriesContext(connection) as many:
        refresh_market_history()

    # The bitcoin and ethereum ids, the streamed snapshots, the delete, the
    # insert, the coverage sum, its days and their update, and the
    # transaction's own statements (which differ by database).
    assert len(many) == len(few) <= 10


def test_charts_draw_dominance_flippening_and_tier_areas():
    build_market()
    refresh_market_history()
    points = [history_point(row, D(1)) for row in MarketHistoryDay.objects.all()]

    charts = history_charts(points)

    dominance = charts.dominance
    assert [c.label for c in dominance.columns] == [
        "BTC dominance",
        "ETH dominance",
        "ETH ÷ BTC",
    ]
    assert [r.cells for r in dominance.rows] == [
        ["75.0 %", "24.4 %", "0.3250"],
        ["80.0 %", "19.2 %", "0.2400"],
    ]
    assert [p.caption for p in dominance.plots] == [
        "Dominance",
        "Flippening ratio (ETH ÷ BTC cap)",
    ]
    assert dominance.plots[0].summary.startswith(
        "Bitcoin dominance rose from 75.0 % on 1 Mar 2026 to 80.0 % on 2 Mar 2026"
    )
    tiers = charts.tiers
    assert [c.key for c in tiers.columns] == ["large", "mid", "small"]
    assert [r.cells for r in tiers.rows] == [
        ["99.4 %", "0.6 %", "0.0 %"],
        ["100.0 %", "0.0 %", "0.0 %"],
        ["100.0 %", "0.0 %", "0.0 %"],
    ]


def test_the_coverage_chart_draws_the_covered_cap_and_its_share_of_today():
    build_market()
    refresh_market_history()
    today = current_state().total_market_cap
    points = [history_point(row, today) for row in MarketHistoryDay.objects.all()]

    coverage = history_charts(points).coverage

    assert [c.label for c in coverage.columns] == ["Covered cap", "Of today's total"]
    # $1,600B, $1,250B, $240B covered; 100 %, 100 %, 19.2 % of today's $1,250B.
    assert [r.cells for r in coverage.rows] == [
        ["$1.60T", "100.0 %"],
        ["$1.25T", "100.0 %"],
        ["$240.00B", "19.2 %"],
    ]
    assert coverage.note == "1–4 assets a day"


def test_without_a_total_today_the_coverage_chart_draws_the_caps_alone():
    build_market()
    refresh_market_history()
    points = [history_point(row, D(0)) for row in MarketHistoryDay.objects.all()]

    coverage = history_charts(points).coverage

    assert [p.caption for p in coverage.plots] == ["Market cap of the assets covered"]
    assert [r.cells for r in coverage.rows][-1] == ["$240.00B"]


def test_charts_need_two_days():
    assert history_charts([]).coverage is None
    assert history_charts([]).dominance is None
    assert history_charts([]).tiers is None


def test_market_page_shows_the_history_charts_with_their_tables(client):
    build_market()
    refresh_market_history()

    html = client.get("/").content.decode()

    assert "Market history" in html
    assert "Dominance and the flippening ratio" in html
    assert "Tier shares of the market cap covered each day" in html
    assert "Share of today&#x27;s total cap they cover" in html
    # The tables behind the charts: 2 Mar's dominance and ratio.
    assert "<td>80.0 %</td><td>19.2 %</td><td>0.2400</td>" in html
    assert 'aria-label="Bitcoin dominance rose from 75.0 %' in html


def test_market_page_without_history_has_no_history_section(client):
    AssetFactory(slug="bitcoin")

    assert "Market history" not in client.get("/").content.decode()


def test_market_page_reads_history_once_whatever_the_days_and_assets(
    client, django_assert_num_queries
):
    build_market()
    refresh_market_history()
    # Choices, state, page, history days (the summary is cached per version).
    with django_assert_num_queries(4):
        client.get("/")


def test_command_rebuilds_every_day():
    from io import StringIO

    from django.core.management import call_command

    build_market()
    out = StringIO()

    call_command("refresh_market_history", stdout=out)

    assert "Market history: 3 days recomputed" in out.getvalue()
    assert MarketHistoryDay.objects.count() == 3


def test_the_bundled_history_gives_the_figures_the_issue_reports():
    # The 100 bundled assets, 15 of them with daily history to 30 Apr 2026.
    load_bundled_market_data(triggered_by="test")
    # Imports refresh after commit; the test's transaction never commits.
    refresh_indices()
    refresh_volatility(None)
    refresh_market_history()
    today = current_state().total_market_cap

    year = next(w for w in market_volatility() if w.days == 365)
    figures = {t.tier: (t.volatility, t.assets) for t in year.tiers}
    assert round(figures["large"][0], 1) == D("45.0")
    assert round(figures["mid"][0], 1) == D("69.8")
    assert figures["small"] == (None, 0)
    assert (figures["large"][1], figures["mid"][1]) == (7, 6)
    first, last = (
        history_point(MarketHistoryDay.objects.get(day=day), today)
        for day in (date(2025, 5, 1), date(2026, 4, 30))
    )
    assert first.asset_count == 15
    assert [round(v, 2) for v in (first.bitcoin_dominance, first.covered_share)] == [
        D("69.24"),
        D("91.91"),
    ]
    assert round(first.flippening_ratio, 4) == D("0.1159")
    assert last.asset_count == 99
    assert round(last.bitcoin_dominance, 2) == D("59.44")
    assert round(last.covered_share, 2) == D("99.95")
