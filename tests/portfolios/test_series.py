"""The stored daily series (portfolios.series): values, flows, TWR and MWR per
day, kept on every write and equal to a recomputation from scratch."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfolios import series, services
from portfolios.models import Portfolio, PortfolioDay, Transaction
from tests.factories import (
    AssetFactory,
    CategoryFactory,
    MarketSnapshotFactory,
    TransactionFactory,
)
from valuations.models import Asset, MarketSnapshot

D = Decimal

pytestmark = pytest.mark.django_db

BUY, SELL = Transaction.Kind.BUY, Transaction.Kind.SELL
TRANSFER_IN = Transaction.Kind.TRANSFER_IN


def _asset(slug: str, circulating: str = "1000000", **kwargs) -> Asset:
    return AssetFactory(
        slug=slug,
        symbol=slug[:4],
        name=slug.title(),
        price=D("1"),
        circulating_supply=D(circulating),
        max_supply=None,
        total_supply=None,
        **kwargs,
    )


def _at(day: int, hour: int = 9, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def _day(day: int, month: int = 1) -> date:
    return date(2026, month, day)


def _snapshot(asset: Asset, day: int, price: str, hour: int = 12, **kwargs):
    return MarketSnapshotFactory(
        asset=asset,
        taken_at=_at(day, hour),
        price=D(price),
        circulating_supply=kwargs.pop("circulating", asset.circulating_supply),
        **kwargs,
    )


def _record(portfolio, asset, kind, quantity, price, at, fee="0") -> Transaction:
    # Through the ledger service, as TransactionFactory records.
    return TransactionFactory(
        portfolio=portfolio,
        asset=asset,
        kind=kind,
        quantity=D(quantity),
        unit_price=D(price),
        fee=D(fee),
        executed_at=at,
    )


def _fresh(portfolio: Portfolio) -> Portfolio:
    # As a request would load it: a snapshot write marks the row, not this object.
    return Portfolio.objects.get(pk=portfolio.pk)


def _history(portfolio: Portfolio, **kwargs) -> list[series.Day]:
    return series.history(_fresh(portfolio), **kwargs)


def _performance(portfolio: Portfolio, **kwargs) -> series.Performance | None:
    return series.performance_between(_fresh(portfolio), **kwargs)


def _values(portfolio: Portfolio) -> list[tuple[date, Decimal]]:
    return [(d.date, d.value) for d in _history(portfolio)]


# Values and buckets ----------------------------------------------------------------


@pytest.fixture
def history(portfolio) -> Portfolio:
    """RISE climbs from a $5B mid cap to a $12B large cap over 5 days; USDC is a
    $50B stablecoin at $1.

    RISE: 2 bought on day 1, 1 more on day 3, 1 sold on day 4 after the snapshot.
    Day 2 has two snapshots; the later one, at $8, counts. USDC: 10 from day 1.
    """
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    rise = _asset("rise", "1000000000")
    usdc = _asset("usd-coin", "50000000000", categories=[stable])
    MarketSnapshotFactory(
        asset=rise,
        taken_at=datetime(2025, 12, 31, 12, tzinfo=UTC),
        price=D("4"),
        circulating_supply=D("1000000000"),
    )
    for day, price in [(1, "5"), (2, "6"), (3, "9"), (4, "11"), (5, "12")]:
        _snapshot(rise, day, price)
        _snapshot(usdc, day, "1")
    _snapshot(rise, 2, "8", hour=18)
    _record(portfolio, rise, BUY, "2", "5", _at(1))
    _record(portfolio, usdc, BUY, "10", "1", _at(1))
    _record(portfolio, rise, BUY, "1", "9", _at(3))
    _record(portfolio, rise, SELL, "1", "11", _at(4, hour=15))
    return portfolio


def test_each_day_values_what_is_held_at_its_end_at_its_last_price(history):
    assert _values(history) == [
        (_day(1), D("20")),  # 2 × 5 + 10 × 1
        (_day(2), D("26")),  # 2 × 8 (the 18:00 snapshot, the day's last) + 10
        (_day(3), D("37")),  # 3 × 9 + 10
        (_day(4), D("32")),  # 2 × 11 + 10: the sell came before the day's end
        (_day(5), D("34")),  # 2 × 12 + 10
    ]


def test_each_day_buckets_by_that_days_cap(history):
    days = _history(history)

    assert days[0].weights == {
        "large": D("0"),
        "mid": D("50"),
        "small": D("0"),
        "stable": D("50"),
        "unranked": D("0"),
    }
    # From $9B (mid) on day 3 to $11B (large) on day 4; USDC stays stable.
    assert [sorted(b for b, w in d.weights.items() if w) for d in days] == [
        ["mid", "stable"],
        ["mid", "stable"],
        ["mid", "stable"],
        ["large", "stable"],
        ["large", "stable"],
    ]


def test_flows_and_net_invested_follow_the_ledger(history):
    days = _history(history)

    # Day 1: 2 × 5 + 10 × 1 in; day 3: 9 in; day 4: 11 out.
    assert [(d.flow, d.net_invested) for d in days] == [
        (D("20"), D("20")),
        (D("0"), D("20")),
        (D("9"), D("29")),
        (D("-11"), D("18")),
        (D("0"), D("18")),
    ]


def test_a_range_keeps_to_its_days(history):
    days = _history(history, start=_day(2), end=_day(4))

    assert [d.date for d in days] == [_day(2), _day(3), _day(4)]


def test_the_series_starts_on_the_first_transaction_day(history):
    assert _history(history, start=date(2025, 12, 1))[0].date == _day(1)


def test_days_run_from_midnight_to_midnight_utc(portfolio):
    coin = _asset("coin", "1000")
    _record(portfolio, coin, BUY, "1", "1", datetime(2026, 2, 28, tzinfo=UTC))
    for at, price in [
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), "3"),
        (datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC), "4"),
        (datetime(2026, 3, 2, 0, 0, tzinfo=UTC), "5"),
    ]:
        MarketSnapshotFactory(
            asset=coin, taken_at=at, price=D(price), circulating_supply=D("1000")
        )

    # 28 Feb has no snapshot yet: the trade's own price stands in.
    assert _values(portfolio) == [
        (date(2026, 2, 28), D("1")),
        (date(2026, 3, 1), D("4")),
        (date(2026, 3, 2), D("5")),
    ]


# Carried prices ---------------------------------------------------------------------


def test_an_asset_missing_snapshots_keeps_its_carried_value(portfolio, settings):
    """RNDR has snapshots on days 1 and 5 only; BTC every day to day 14."""
    settings.CAPSITE_PRICE_STALE_DAYS = 7
    rndr, btc = _asset("render"), _asset("bitcoin")
    _snapshot(rndr, 1, "10")
    _snapshot(rndr, 5, "20")
    for day in range(1, 15):
        _snapshot(btc, day, "100")
    # BTC first: RNDR then joins a series already stored, revalued on its own.
    _record(portfolio, btc, BUY, "1", "100", _at(1))
    _record(portfolio, rndr, BUY, "3", "10", _at(1))

    days = {d.date.day: d for d in _history(portfolio)}

    assert [days[n].value for n in (1, 2, 4, 5, 6, 14)] == [
        D("130"),  # 3 × 10 + 100
        D("130"),  # RNDR carried at 10
        D("130"),
        D("160"),  # 3 × 20 + 100
        D("160"),
        D("160"),  # RNDR still at day 5's 20
    ]
    assert [days[n].price_age for n in (1, 2, 4, 5, 12, 13, 14)] == [
        0,
        1,
        3,
        0,
        7,
        8,
        9,
    ]
    # Older than 7 days from day 13 on; the small bucket keeps RNDR all along.
    assert [days[n].stale_holdings for n in (12, 13, 14)] == [0, 1, 1]
    assert all(d.weights["small"] > 0 for d in days.values())


def test_a_holding_bought_before_its_first_snapshot_is_valued_at_its_trade_price(
    portfolio,
):
    new, btc = _asset("newcoin"), _asset("bitcoin")
    for day in range(1, 4):
        _snapshot(btc, day, "100")
    _snapshot(new, 3, "7")
    _record(portfolio, new, BUY, "10", "5", _at(1))

    days = _history(portfolio)

    assert [(d.value, d.price_age) for d in days] == [
        (D("50"), 0),  # 10 × the trade's 5
        (D("50"), 1),
        (D("70"), 0),  # the first snapshot, at 7
    ]


def test_new_market_data_extends_every_series_with_carried_prices(history):
    other = _asset("untraded")
    _snapshot(other, 8, "1")

    days = _history(history)

    assert days[-1].date == _day(8)
    assert days[-1].value == D("34")  # day 5's prices, carried
    assert days[-1].price_age == 3


def test_a_corrected_snapshot_revalues_the_days_it_covers(history):
    rise = Asset.objects.get(slug="rise")
    MarketSnapshot.objects.filter(asset=rise, taken_at=_at(3, 12)).update(price=D("10"))
    from valuations.signals import announce_snapshots

    announce_snapshots(asset_ids=[rise.pk], since=_day(3))

    assert _values(history)[2] == (_day(3), D("40"))  # 3 × 10 + 10


# Performance ------------------------------------------------------------------------


def test_deposits_into_a_stablecoin_are_not_performance(portfolio):
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    usdc = _asset("usd-coin", categories=[stable])
    for day in range(1, 11):
        _snapshot(usdc, day, "1")
    for day in (1, 4, 8):
        _record(portfolio, usdc, BUY, "1000", "1", _at(day))

    result = _performance(portfolio)

    assert _values(portfolio)[-1] == (_day(10), D("3000"))
    assert (result.value_start, result.value_end) == (D("0"), D("3000"))
    assert (result.net_invested, result.net_flows, result.profit) == (
        D("3000"),
        D("3000"),
        D("0"),
    )
    assert result.twr == 0
    assert result.mwr == 0


@pytest.fixture
def path(portfolio) -> Portfolio:
    """X at 100, 110, 99 on days 1–3: 1 bought on day 1, 1 more on day 3."""
    x = _asset("xcoin")
    for day, price in [(1, "100"), (2, "110"), (3, "99")]:
        _snapshot(x, day, price)
    _record(portfolio, x, BUY, "1", "100", _at(1))
    _record(portfolio, x, BUY, "1", "99", _at(3, hour=15))
    return portfolio


def test_a_known_price_path_gives_the_known_twr_and_xirr(path):
    result = _performance(path)

    # Day 2: 110 ÷ 100 − 1 = +10 %; day 3: (198 − 99) ÷ 110 − 1 = −10 %.
    assert result.twr == D("-1.00000000")  # 1.1 × 0.9 − 1
    assert (result.value_end, result.net_invested, result.profit) == (
        D("198"),
        D("199"),
        D("-1"),
    )
    # 100 (1 + r)^(2/365) + 99 = 198  ⇒  r = 0.99^182.5 − 1
    assert float(result.mwr) == pytest.approx((0.99**182.5 - 1) * 100, abs=1e-5)


def test_a_range_opens_with_the_value_of_the_day_before(path):
    result = _performance(path, start=_day(2), end=_day(3))

    assert (result.start, result.end) == (_day(2), _day(3))
    assert (result.value_start, result.value_end) == (D("100"), D("198"))
    assert (result.net_flows, result.profit) == (D("99"), D("-1"))
    assert result.net_invested == D("199")
    assert result.twr == D("-1.00000000")


def test_a_range_after_the_series_is_clipped_to_its_end(path):
    result = _performance(path, start=_day(3), end=_day(20))

    assert result.end == _day(3)
    assert result.twr == D("-10.00000000")


def test_selling_everything_and_buying_back_the_same_day(portfolio):
    x = _asset("xcoin")
    _snapshot(x, 1, "100")
    _snapshot(x, 2, "120")
    _record(portfolio, x, BUY, "2", "100", _at(1))
    _record(portfolio, x, SELL, "2", "120", _at(2, hour=10))
    _record(portfolio, x, BUY, "1", "120", _at(2, hour=11))

    days = _history(portfolio)
    result = _performance(portfolio)

    # Day 2: flow −240 + 120 = −120; value 1 × 120; (120 + 120) ÷ 200 − 1 = +20 %.
    assert [(d.value, d.flow) for d in days] == [
        (D("200"), D("200")),
        (D("120"), D("-120")),
    ]
    assert result.twr == D("20.00000000")
    assert (result.net_invested, result.profit) == (D("80"), D("40"))


def test_a_transfer_in_is_a_flow_at_the_market_price(portfolio):
    x = _asset("xcoin")
    _snapshot(x, 1, "50")
    _snapshot(x, 2, "60")
    services.record_transaction(
        portfolio=portfolio,
        asset=x,
        kind=TRANSFER_IN,
        quantity=D("2"),
        unit_price=D("1"),  # what the user typed; the market says 50
        executed_at=_at(1),
    )

    result = _performance(portfolio)

    assert result.net_invested == D("100")
    assert result.twr == D("20.00000000")  # 120 ÷ 100


def test_no_series_without_market_data(portfolio):
    _record(portfolio, _asset("xcoin"), BUY, "1", "1", _at(1))

    assert _history(portfolio) == []
    assert _performance(portfolio) is None


# Writes keep it right ---------------------------------------------------------------


def test_a_future_transaction_is_refused_and_changes_nothing(path, time_machine):
    time_machine.move_to(datetime(2026, 1, 3, 18, tzinfo=UTC), tick=False)
    before = list(PortfolioDay.objects.values_list("day", "value"))

    with pytest.raises(ValidationError) as exc:
        _record(path, Asset.objects.get(slug="xcoin"), BUY, "1", "1", _at(3, hour=19))

    assert "future" in exc.value.message_dict["executed_at"][0]
    assert list(PortfolioDay.objects.values_list("day", "value")) == before


def test_a_few_minutes_of_clock_skew_are_allowed(portfolio, time_machine):
    time_machine.move_to(datetime(2026, 1, 3, 18, tzinfo=UTC), tick=False)

    _record(
        portfolio,
        _asset("xcoin"),
        BUY,
        "1",
        "1",
        datetime(2026, 1, 3, 18, 4, tzinfo=UTC),
    )

    assert portfolio.transactions.count() == 1


def test_a_transaction_before_bitcoin_is_refused(portfolio):
    with pytest.raises(ValidationError) as exc:
        _record(
            portfolio, _asset("xcoin"), BUY, "1", "1", datetime(1999, 1, 1, tzinfo=UTC)
        )

    assert exc.value.message_dict["executed_at"] == [
        "A transaction cannot be dated before 2009-01-03."
    ]


def _stored(portfolio: Portfolio) -> list[tuple]:
    return list(
        PortfolioDay.objects.filter(portfolio=portfolio)
        .order_by("day")
        .values_list(
            "day",
            "value",
            "flow",
            "net_invested",
            "growth",
            "carried",
            "price_age",
            "stale_holdings",
            "large",
            "mid",
            "small",
            "stable",
            "unranked",
        )
    )


def assert_same(kept: list[tuple], recomputed: list[tuple]) -> None:
    """Stored rows equal a recomputation: exactly on PostgreSQL; on SQLite, which
    keeps 15 significant digits of a decimal, to within that."""
    if connection.vendor != "sqlite":
        assert kept == recomputed
        return
    assert len(kept) == len(recomputed)
    for mine, theirs in zip(kept, recomputed, strict=True):
        for a, b in zip(mine, theirs, strict=True):
            if isinstance(a, Decimal):
                assert a == pytest.approx(b, rel=D("1e-14"), abs=D("1e-12")), mine
            else:
                assert a == b, mine


def _recomputed(portfolio: Portfolio) -> list[tuple]:
    PortfolioDay.objects.filter(portfolio=portfolio).delete()
    Portfolio.objects.filter(pk=portfolio.pk).update(series_through=None)
    series.refresh(portfolio)
    return _stored(portfolio)


def test_a_back_dated_edit_and_delete_equal_a_recomputation(history):
    first = history.transactions.get(asset__slug="rise", executed_at=_at(1))
    services.update_transaction(tx=first, quantity=D("3"), executed_at=_at(2))
    services.delete_transaction(tx=history.transactions.get(kind=SELL))

    kept = _stored(history)

    assert_same(kept, _recomputed(history))
    assert [v for _, v in _values(history)] == [
        D("10"),  # USDC only: RISE's buy moved to day 2
        D("34"),  # 3 × 8 + 10
        D("46"),  # 4 × 9 + 10
        D("54"),  # 4 × 11 + 10: the sell is gone
        D("58"),
    ]


def test_deleting_the_first_transaction_moves_the_start(history):
    services.delete_transaction(tx=history.transactions.get(quantity=D("10")))
    first = history.transactions.order_by("executed_at").first()
    services.delete_transaction(tx=history.transactions.get(kind=SELL))
    services.delete_transaction(tx=history.transactions.get(quantity=D("1"), kind=BUY))
    services.delete_transaction(tx=first)

    assert _stored(history) == []
    assert _fresh(history).series_through is None


# Reads cost the same at any size ----------------------------------------------------


def test_history_and_performance_read_in_fixed_queries(
    portfolio, django_assert_num_queries
):
    coins = [_asset(f"coin-{n}") for n in range(3)]
    start = datetime(2025, 6, 1, 12, tzinfo=UTC)
    MarketSnapshot.objects.bulk_create(
        MarketSnapshot(
            asset=coin,
            taken_at=start + timedelta(days=n),
            price=D("3"),
            circulating_supply=D("1000"),
        )
        for coin in coins
        for n in range(220)
    )
    for n, coin in enumerate(coins):
        _record(portfolio, coin, BUY, str(n + 1), "1", start + timedelta(days=n))
    portfolio.refresh_from_db()
    end = (start + timedelta(days=219)).date()

    with django_assert_num_queries(1):
        short = series.history(portfolio, start=end - timedelta(days=4), end=end)
    with django_assert_num_queries(1):
        long = series.history(portfolio, start=end - timedelta(days=199), end=end)
    with django_assert_num_queries(1):
        series.performance_between(portfolio, start=end - timedelta(days=4))
    with django_assert_num_queries(1):
        series.performance_between(portfolio)

    assert (len(short), len(long)) == (5, 200)
    assert {d.value for d in long} == {D("18")}


def _ledger_of(portfolio: Portfolio, size: int) -> list[Asset]:
    coins = [_asset(f"coin-{n}") for n in range(4)]
    for day in range(1, 29):
        for coin in coins:
            _snapshot(coin, day, "2")
    rows = [
        {
            "asset": coins[n % 4],
            "kind": BUY,
            "quantity": D("1"),
            "unit_price": D("2"),
            "fee": D("0"),
            "executed_at": _at(1 + n % 27, hour=1 + n % 20),
        }
        for n in range(size)
    ]
    services.record_transactions(portfolio=portfolio, rows=rows)
    return coins


@pytest.mark.parametrize("size", [40, 400])
def test_a_ledger_write_costs_the_same_queries_at_any_ledger_size(
    portfolio, size, django_assert_num_queries
):
    coins = _ledger_of(portfolio, size)
    oldest = portfolio.transactions.order_by("executed_at").first()

    # Each write also replaces the asset's disposals (one DELETE; none to add).
    with django_assert_num_queries(23):
        _record(portfolio, coins[0], BUY, "1", "2", _at(28))
    with django_assert_num_queries(23):
        services.update_transaction(tx=oldest, quantity=D("5"))
    with django_assert_num_queries(23):
        services.delete_transaction(tx=oldest)
    assert_same(_stored(portfolio), _recomputed(portfolio))


# Property: the stored series equals a recomputation after any writes --------------

OPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.integers(0, 2),  # asset
            st.sampled_from([BUY, BUY, SELL, TRANSFER_IN]),
            st.integers(1, 5),  # quantity
            st.integers(1, 18),  # day
        ),
        st.tuples(
            st.just("edit"),
            st.integers(0, 30),  # which transaction, oldest first
            st.integers(1, 5),
            st.integers(1, 18),
        ),
        st.tuples(st.just("delete"), st.integers(0, 30)),
    ),
    min_size=1,
    max_size=12,
)


def _market() -> list[Asset]:
    """Three coins over 18 days: a stablecoin, a coin priced every day, and one
    with snapshots on a few days only (so prices are carried, some stale)."""
    if Asset.objects.filter(slug="p-gappy").exists():
        return [Asset.objects.get(slug=f"p-{n}") for n in ("stable", "daily", "gappy")]
    stable = CategoryFactory(slug="stablecoins", is_stablecoin=True)
    coins = [
        _asset("p-stable", categories=[stable]),
        _asset("p-daily", "100000000"),
        _asset("p-gappy", "1000000000"),
    ]
    for day in range(1, 19):
        _snapshot(coins[0], day, "1")
        _snapshot(coins[1], day, str(10 + day % 7))
    for day, price in [(3, "12"), (4, "9.5"), (15, "14")]:
        _snapshot(coins[2], day, price)
    return coins


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=OPS)
def test_stored_series_equals_a_recomputation_after_any_writes(db, user, ops):
    coins = _market()
    Portfolio.objects.filter(owner=user).delete()
    portfolio = services.create_portfolio(owner=user, name="Property")
    for op in ops:
        ledger = list(portfolio.transactions.order_by("executed_at", "pk"))
        try:
            if op[0] == "add":
                _, coin, kind, quantity, day = op
                _record(portfolio, coins[coin], kind, str(quantity), "10", _at(day, 15))
            elif ledger and op[0] == "edit":
                _, index, quantity, day = op
                tx = ledger[index % len(ledger)]
                services.update_transaction(
                    tx=tx, quantity=D(quantity), executed_at=_at(day, 10)
                )
            elif ledger:
                services.delete_transaction(tx=ledger[op[1] % len(ledger)])
        except ValidationError:
            pass  # refused (a sell beyond the holding): nothing changed

    assert_same(_stored(portfolio), _recomputed(portfolio))
