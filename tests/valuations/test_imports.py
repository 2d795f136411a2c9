"""Market-data imports: formats, row validation, all-or-nothing, idempotence,
the older-file rule, matching across providers, import runs, unlock schedules.

The real files come from tests/valuations/data/ (see its SOURCE.txt) and the
bundled valuations/data/.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from tests.factories import AssetFactory, SupplyUnlockFactory
from valuations import queries
from valuations.choices import Tier
from valuations.imports import (
    BUNDLED_HISTORY,
    BUNDLED_MARKETS,
    CSV_HEADER,
    Format,
    FormatError,
    RowError,
    detect_format,
    import_markets,
    import_unlocks,
    load_bundled_market_data,
)
from valuations.models import (
    Asset,
    Category,
    ImportRun,
    MarketSnapshot,
    Provider,
    ProviderId,
    SupplyUnlock,
)

D = Decimal
DATA = Path(__file__).resolve().parent / "data"
CG_250 = DATA / "coins_markets_usd_250.json"
CMC_100 = DATA / "listings_latest_data.json"
CMC_WRAPPED = DATA / "listings_latest_wrapped_4.json"

# 16,965 history rows + 100 current rows; the history's last day for its 15
# coins is the very snapshot of the current file, so 15 pairs coincide.
BUNDLED_SNAPSHOTS = 17050
CG_100_TIME = datetime(2026, 4, 30, 2, 29, 6, 506000, tzinfo=UTC)
CG_250_BITCOIN_TIME = datetime(2024, 1, 20, 21, 29, 10, 187000, tzinfo=UTC)
CMC_BITCOIN_TIME = datetime(2021, 12, 6, 15, 17, 2, tzinfo=UTC)


def _import(text: str, **options):
    return import_markets(text, source="test", triggered_by="pytest", **options)


def _import_file(path: Path, **options):
    return import_markets(
        path.read_text(encoding="utf-8"),
        source=path.name,
        triggered_by="pytest",
        **options,
    )


def _stored(value: str) -> Decimal:
    """A number as the database keeps it: exact on PostgreSQL, 15 significant
    digits on SQLite (which stores a float)."""
    if connection.vendor == "sqlite":
        return Context(prec=15).create_decimal(value)
    return D(value)


def _state() -> dict[str, object]:
    """Everything an import can change, to show that a rejected one changed nothing."""
    return {
        "assets": list(
            Asset.objects.order_by("slug").values_list(
                "slug", "price", "circulating_supply", "last_updated", "source"
            )
        ),
        "snapshots": list(
            MarketSnapshot.objects.order_by("asset__slug", "taken_at").values_list(
                "asset__slug", "taken_at", "price"
            )
        ),
        "provider_ids": list(
            ProviderId.objects.values_list("asset__slug", "provider", "external_id")
        ),
    }


def _cmc_items(path: Path = CMC_100) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def _coingecko_row(**changes: object) -> dict[str, object]:
    row = {
        "id": "bitcoin",
        "symbol": "btc",
        "name": "Bitcoin",
        "current_price": 76134,
        "circulating_supply": 20022396.0,
        "total_supply": 20022396.0,
        "max_supply": 21000000.0,
        "total_volume": 43249932397,
        "last_updated": "2026-04-30T02:29:06.506Z",
    }
    return {**row, **changes}


def _generated_coingecko(assets: int, days: int) -> str:
    """``assets`` × ``days`` CoinGecko rows: one snapshot per asset and day."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items = [
        {
            "id": f"gen-{n:05d}",
            "symbol": f"g{n}",
            "name": f"Generated {n}",
            "current_price": f"{1 + n / 100 + day / 1000:.6f}",
            "circulating_supply": 1_000_000 + n,
            "total_supply": 2_000_000 + n,
            "max_supply": 4_000_000 + n,
            "total_volume": 50_000 + n * day,
            "last_updated": (start + timedelta(days=day)).isoformat(),
        }
        for day in range(days)
        for n in range(assets)
    ]
    return json.dumps(items)


# --- the bundled loader ------------------------------------------------------


@pytest.mark.django_db
def test_bundled_market_data_loads_the_top_100_and_reloads_without_duplicates():
    first = load_bundled_market_data()
    loaded = {
        "assets": Asset.objects.count(),
        "snapshots": MarketSnapshot.objects.count(),
        "categories": Category.objects.count(),
        "asset_categories": Asset.categories.through.objects.count(),
    }

    assert first == {
        "created": BUNDLED_SNAPSHOTS,
        "updated": 0,
        "unchanged": 15,
        "categorised": 100,
        "assets": 100,
    }
    assert loaded == {
        "assets": 100,
        "snapshots": BUNDLED_SNAPSHOTS,
        "categories": 12,
        "asset_categories": 137,
    }
    bitcoin = Asset.objects.get(slug="bitcoin")
    assert queries.ranks_for([bitcoin.pk]) == {bitcoin.pk: 1}
    assert bitcoin.price == D("76134")
    assert bitcoin.circulating_supply == D("20022396")
    assert bitcoin.max_supply == D("21000000")
    assert bitcoin.market_cap == D("1524385097064")
    assert bitcoin.last_updated == CG_100_TIME
    assert sorted(bitcoin.categories.values_list("slug", flat=True)) == [
        "layer-1",
        "payments",
    ]
    assert Asset.objects.get(slug="tether").categories.get().is_stablecoin
    assert bitcoin.snapshots.earliest().taken_at == datetime(
        2023, 3, 20, 0, 2, 17, 864000, tzinfo=UTC
    )

    second = load_bundled_market_data()

    assert second["created"] == second["updated"] == 0
    assert second["unchanged"] == BUNDLED_SNAPSHOTS + 15
    assert {
        "assets": Asset.objects.count(),
        "snapshots": MarketSnapshot.objects.count(),
        "categories": Category.objects.count(),
        "asset_categories": Asset.categories.through.objects.count(),
    } == loaded
    assert list(
        ImportRun.objects.order_by("started", "pk").values_list(
            "source", "format", "status", "created", "updated"
        )
    ) == [
        (BUNDLED_HISTORY.name, Format.HISTORY, "applied", 16965, 0),
        (BUNDLED_MARKETS.name, Format.COINGECKO, "applied", 85, 0),
        (BUNDLED_HISTORY.name, Format.HISTORY, "applied", 0, 0),
        (BUNDLED_MARKETS.name, Format.COINGECKO, "applied", 0, 0),
    ]


@pytest.mark.django_db
def test_bundled_market_has_12_large_55_mid_and_33_small_caps():
    load_bundled_market_data()

    overview = queries.market_overview()

    counts = {t.tier: t.asset_count for t in overview.tiers}
    assert counts == {Tier.LARGE: 12, Tier.MID: 55, Tier.SMALL: 33, Tier.UNRANKED: 0}
    # Whole dollars: SQLite sums through floats (15 significant digits).
    assert overview.total_market_cap.quantize(D("1")) == D("2565683773444")


@pytest.mark.django_db
def test_load_market_data_command_reports_what_it_loaded():
    out = StringIO()

    call_command("load_market_data", stdout=out)

    assert "Market data: 100 assets; snapshots 17050 new" in out.getvalue()


# --- formats, with the real files ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (BUNDLED_MARKETS, Format.COINGECKO),
        (CG_250, Format.COINGECKO),
        (CMC_100, Format.COINMARKETCAP),
        (CMC_WRAPPED, Format.COINMARKETCAP),
        (BUNDLED_HISTORY, Format.HISTORY),
    ],
    ids=["coingecko-100", "coingecko-250", "cmc-bare", "cmc-wrapped", "history"],
)
def test_format_is_detected_from_the_content_of_each_real_file(path, fmt):
    assert detect_format(path.read_text(encoding="utf-8")) == fmt


def test_a_csv_with_the_documented_header_is_detected_as_csv():
    assert detect_format(CSV_HEADER + "\n") == Format.CSV
    assert detect_format("\ufeff" + CSV_HEADER + "\r\n") == Format.CSV


@pytest.mark.django_db
def test_coingecko_top_100_imports_every_row_through_the_command():
    out = StringIO()

    call_command("import_markets", str(BUNDLED_MARKETS), stdout=out)

    assert Asset.objects.count() == 100
    assert MarketSnapshot.objects.count() == 100
    bitcoin = Asset.objects.get(slug="bitcoin")
    assert (bitcoin.price, bitcoin.source, bitcoin.last_updated) == (
        D("76134"),
        Provider.COINGECKO,
        CG_100_TIME,
    )
    assert queries.ranks_for([bitcoin.pk]) == {bitcoin.pk: 1}
    assert (
        f"{BUNDLED_MARKETS.name} (coingecko): 100 rows; snapshots 100 new, "
        "0 updated, 0 unchanged; 100 new assets; 0 rows skipped; "
        "0 rows wait for mapping."
    ) in out.getvalue()


@pytest.mark.django_db
def test_the_real_coingecko_250_imports_whole_with_its_quirks_accepted():
    out, err = StringIO(), StringIO()

    call_command("import_markets", str(CG_250), stdout=out, stderr=err)

    assert err.getvalue() == ""
    assert "250 new assets; 0 rows skipped" in out.getvalue()
    assert Asset.objects.count() == MarketSnapshot.objects.count() == 250
    assert ImportRun.objects.get().status == ImportRun.Status.APPLIED
    # 0.19 FLOW and 4.9 stSOL above the max: rounding, kept as published, no flag.
    flow = Asset.objects.get(slug="flow")
    assert (flow.circulating_supply, flow.max_supply) == (
        D("1483676655"),
        _stored("1483676654.81373"),
    )
    assert flow.quality_flags == ""
    assert Asset.objects.get(slug="lido-staked-sol").quality_flags == ""
    # Max and total supply 0 beside 360M circulating: unknown, not zero.
    centrifuge = Asset.objects.get(slug="wrapped-centrifuge")
    assert (centrifuge.max_supply, centrifuge.total_supply) == (None, None)
    assert centrifuge.quality_flags == "supply_unknown"
    snapshot = centrifuge.snapshots.get()
    assert (snapshot.max_supply, snapshot.total_supply) == (None, None)


@pytest.mark.django_db
def test_provider_figures_are_kept_per_snapshot_and_on_the_asset():
    _import_file(BUNDLED_MARKETS)

    gatechain = Asset.objects.get(slug="gatechain-token")
    # Published 1,133,103,428; 7.22 × 115,180,573.04885802 = 831,603,737.41.
    assert (
        gatechain.provider_market_cap,
        gatechain.provider_fdv,
        gatechain.provider_rank,
    ) == (D("1133103428"), D("1133103428"), 65)
    assert gatechain.market_cap == _stored("831603737.4127549044")
    assert gatechain.tier == Tier.SMALL  # the provider's cap would make it mid
    # 115.18M circulating is 2.3 % above the 112.62M total supply.
    assert gatechain.quality_flags == "cap_mismatch supply_above_max"
    snapshot = gatechain.snapshots.get()
    assert (snapshot.provider_market_cap, snapshot.provider_rank) == (
        D("1133103428"),
        65,
    )
    bitcoin = Asset.objects.get(slug="bitcoin")
    assert (bitcoin.provider_rank, bitcoin.quality_flags) == (1, "")


@pytest.mark.django_db
def test_coinmarketcap_after_coingecko_matches_by_slug_and_symbol_only():
    _import_file(BUNDLED_MARKETS)

    report = _import_file(CMC_100)

    assert report.format == Format.COINMARKETCAP
    assert report.applied and report.errors == []
    # 25 coins have CoinGecko's slug and symbol (rule 2); 63 have a symbol no
    # asset has and become assets; 12 wait: their symbol is taken and no
    # price from December 2021 can confirm them.
    assert (report.rows, report.created, report.assets_created) == (100, 88, 63)
    assert (len(report.waiting), report.waiting_rows) == (12, 12)
    assert all(w.message.endswith("Map it in the admin.") for w in report.waiting)
    assert Asset.objects.count() == 163
    assert ProviderId.objects.filter(provider=Provider.COINMARKETCAP).count() == 88
    bitcoin = Asset.objects.get(symbol__iexact="btc")
    assert bitcoin.slug == "bitcoin"
    assert bitcoin.provider_ids.get(provider=Provider.COINMARKETCAP).external_id == "1"
    assert bitcoin.snapshots.get(taken_at=CMC_BITCOIN_TIME).price == _stored(
        "48724.52656838432"
    )
    # 2021 is older than the current 2026 values: history only.
    assert (bitcoin.price, bitcoin.last_updated) == (D("76134"), CG_100_TIME)
    run = ImportRun.objects.latest("pk")
    assert (run.status, run.waiting, run.skipped) == (ImportRun.Status.APPLIED, 12, 0)


@pytest.mark.django_db
def test_the_real_coinmarketcap_2021_file_keeps_terra_out_of_terra_luna_2():
    _import_file(CG_250)
    out, err = StringIO(), StringIO()

    call_command("import_markets", str(CMC_100), stdout=out, stderr=err)

    assert Asset.objects.filter(symbol__iexact="btc", name="Bitcoin").count() == 1
    bitcoin = Asset.objects.get(slug="bitcoin")
    assert bitcoin.snapshots.filter(taken_at=CMC_BITCOIN_TIME).exists()
    luna2 = Asset.objects.get(slug="terra-luna-2")
    assert not luna2.snapshots.filter(taken_at__year=2021).exists()
    assert "CoinMarketCap 4172 (LUNA “Terra”) waits for mapping" in err.getvalue()
    assert "terra-luna-2 has its symbol and name but no price within 3 days" in (
        err.getvalue()
    )
    # FTX Token had no candidate at all: it became an asset with its 2021 row.
    ftx = Asset.objects.get(slug="ftx-token")
    assert (ftx.symbol, ftx.source) == ("FTT", Provider.COINMARKETCAP)
    waiting = ImportRun.objects.latest("pk").waiting
    assert f"{waiting} rows wait for mapping." in out.getvalue()


@pytest.mark.django_db
def test_coinmarketcap_into_an_empty_database_creates_every_coin():
    report = _import_file(CMC_100)

    assert report.applied and report.errors == report.waiting == []
    assert Asset.objects.count() == MarketSnapshot.objects.count() == 100
    assert Asset.objects.get(slug="bitcoin").provider_ids.get().external_id == "1"


@pytest.mark.django_db
def test_an_unmatched_coin_waits_while_the_rest_of_the_file_applies():
    _import_file(BUNDLED_MARKETS)

    report = _import_file(CMC_WRAPPED)

    assert report.format == Format.COINMARKETCAP
    assert report.waiting == [
        RowError(
            "item 3",
            "id",
            "CoinMarketCap 1839 (BNB “Binance Coin”) waits for mapping: its symbol "
            "belongs to binancecoin, named otherwise. Map it in the admin.",
        )
    ]
    assert report.applied and report.created == 3
    assert not Asset.objects.get(slug="binancecoin").snapshots.filter(
        taken_at__year=2021
    )
    assert ImportRun.objects.latest("pk").status == ImportRun.Status.APPLIED


@pytest.mark.django_db
def test_once_staff_map_the_provider_id_the_same_row_imports_onto_that_asset():
    _import_file(BUNDLED_MARKETS)
    binancecoin = Asset.objects.get(slug="binancecoin")
    ProviderId.objects.create(
        asset=binancecoin, provider=Provider.COINMARKETCAP, external_id="1839"
    )

    report = _import_file(CMC_WRAPPED)

    assert report.applied and report.errors == report.waiting == []
    assert (report.created, report.assets_created) == (4, 0)
    mapped = ProviderId.objects.filter(provider=Provider.COINMARKETCAP)
    assert dict(mapped.values_list("asset__slug", "external_id")) == {
        "bitcoin": "1",
        "ethereum": "1027",
        "binancecoin": "1839",
        "tether": "825",
    }
    snapshot = binancecoin.snapshots.get(
        taken_at=datetime(2021, 12, 6, 15, 16, 9, tzinfo=UTC)
    )
    assert snapshot.price == _stored("560.3361872390609")
    assert Asset.objects.count() == 100


@pytest.mark.django_db
def test_a_newer_coinmarketcap_row_updates_the_coingecko_bitcoin_and_maps_its_id():
    _import_file(BUNDLED_MARKETS)
    item = {**_cmc_items()[0], "last_updated": "2026-05-01T00:00:00.000Z"}

    report = _import(json.dumps([item]))

    assert (report.created, report.assets_created, report.errors) == (1, 0, [])
    assert Asset.objects.count() == 100
    bitcoin = Asset.objects.get(symbol__iexact="btc")
    assert (bitcoin.slug, bitcoin.price, bitcoin.circulating_supply) == (
        "bitcoin",
        _stored("48724.52656838432"),
        D("18893006"),
    )
    assert bitcoin.source == Provider.COINMARKETCAP
    assert bitcoin.last_updated == datetime(2026, 5, 1, tzinfo=UTC)
    mapping = ProviderId.objects.get(provider=Provider.COINMARKETCAP)
    assert (mapping.asset, mapping.external_id) == (bitcoin, "1")


@pytest.mark.django_db
def test_a_mapped_coinmarketcap_id_matches_even_after_a_rename():
    bitcoin = AssetFactory(slug="bitcoin", symbol="btc", name="Bitcoin")
    ProviderId.objects.create(
        asset=bitcoin, provider=Provider.COINMARKETCAP, external_id="1"
    )
    item = {
        **_cmc_items()[0],
        "name": "Bitcoin Core",
        "symbol": "XBT",
        "last_updated": "2026-05-01T00:00:00.000Z",
    }

    report = _import(json.dumps([item]))

    assert report.errors == report.waiting == []
    bitcoin.refresh_from_db()
    assert bitcoin.price == _stored("48724.52656838432")
    assert Asset.objects.count() == 1


def _bitcoin_priced_near_the_cmc_row(price: str, days: float) -> Asset:
    """Bitcoin under another slug (no rule 2), priced ``days`` from the CMC row."""
    return AssetFactory(
        slug="btc-coingecko",
        symbol="btc",
        name="Bitcoin",
        price=D(price),
        last_updated=CMC_BITCOIN_TIME + timedelta(days=days),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("price", "days", "matched"),
    [
        ("48724", 0, True),
        ("73000", 2.9, True),  # +49.8 %, 2.9 days later
        ("24400", -2.9, True),  # -49.9 %
        ("74000", 0, False),  # +51.9 %: another coin
        ("24000", 0, False),
        ("48724", 3.1, False),  # no price within 3 days to check
    ],
)
def test_a_same_symbol_and_name_coin_matches_only_at_a_plausible_price(
    price, days, matched
):
    asset = _bitcoin_priced_near_the_cmc_row(price, days)

    report = _import(json.dumps([_cmc_items()[0]]))

    assert report.errors == []
    assert asset.snapshots.filter(taken_at=CMC_BITCOIN_TIME).exists() == matched
    assert (len(report.waiting) == 0) == matched
    assert Asset.objects.count() == 1  # its symbol is taken: never a new asset
    mapped = ProviderId.objects.filter(provider=Provider.COINMARKETCAP, asset=asset)
    assert mapped.exists() == matched


@pytest.mark.django_db
def test_a_snapshot_near_the_row_counts_for_the_price_check():
    asset = _bitcoin_priced_near_the_cmc_row("1", 400)  # current price: years off
    MarketSnapshot.objects.create(
        asset=asset,
        taken_at=CMC_BITCOIN_TIME - timedelta(days=1),
        price=D("50000"),
        circulating_supply=D("18890000"),
    )

    report = _import(json.dumps([_cmc_items()[0]]))

    assert report.waiting == []
    assert asset.snapshots.count() == 2


@pytest.mark.django_db
def test_two_provider_ids_for_one_asset_at_one_time_are_a_duplicate_row():
    bitcoin = _bitcoin_priced_near_the_cmc_row("48000", 0)
    ProviderId.objects.create(
        asset=bitcoin, provider=Provider.COINMARKETCAP, external_id="1"
    )
    listed = _cmc_items()[0]
    relisted = {**listed, "id": 99999, "slug": "bitcoin-new"}

    report = _import(json.dumps([listed, relisted]))

    assert report.errors == [
        RowError("item 2", "id", "The same asset and time appear twice in the file.")
    ]
    assert MarketSnapshot.objects.count() == 0


@pytest.mark.django_db
def test_a_symbol_and_name_shared_by_two_assets_waits_not_guessed():
    AssetFactory(slug="eth-one", symbol="eth", name="Ethereum")
    AssetFactory(slug="ethereum-wormhole", symbol="ETH", name="Ethereum")
    before = _state()

    report = _import(json.dumps([_cmc_items()[1]]))

    (waiting,) = report.waiting
    assert (waiting.position, waiting.field) == ("item 1", "id")
    assert waiting.message == (
        "CoinMarketCap 1027 (ETH “Ethereum”) waits for mapping: eth-one, "
        "ethereum-wormhole all have its symbol and name. Map it in the admin."
    )
    assert _state() == before


@pytest.mark.django_db
def test_a_coin_whose_id_is_taken_by_another_symbol_waits():
    AssetFactory(slug="terra-luna", symbol="lunc", name="Terra Luna Classic")
    before = _state()

    (terra,) = [item for item in _cmc_items() if item["slug"] == "terra-luna"]
    report = _import(json.dumps([terra]))

    assert [w.message for w in report.waiting] == [
        "CoinMarketCap 4172 (LUNA “Terra”) waits for mapping: its id terra-luna is "
        "Terra Luna Classic (LUNC), with another symbol. Map it in the admin."
    ]
    assert _state() == before


@pytest.mark.django_db
def test_rows_of_a_waiting_coin_are_reported_once_with_their_count():
    AssetFactory(slug="bitcoin-other", symbol="BTC", name="Other")
    rows = [
        _coingecko_row(id="bitcoin", last_updated=f"2026-04-2{day}T00:00:00Z")
        for day in range(3)
    ]

    report = _import(json.dumps(rows))

    assert [w.position for w in report.waiting] == ["item 1"]
    assert report.waiting[0].message.endswith("(2 more rows of it wait too.)")
    assert report.waiting_rows == 3
    assert MarketSnapshot.objects.count() == 0


@pytest.mark.django_db
def test_capsite_csv_with_the_documented_header_imports_exact_decimals():
    text = (
        f"{CSV_HEADER}\n"
        "my-token,MYT,My Token,40,500000,1000000,2000000,12000.50,2026-04-30T00:00:00Z\n"
        "big-coin,BIG,Big Coin,25761,19482197,19482197,21000000,1000000000,"
        "2026-04-30T00:00:00+00:00\n"
        "dust,DST,Dust,0.000000000123456789,1000,,,,2026-04-30T00:00:00Z\n"
    )

    report = _import(text)

    assert (report.format, report.created, report.assets_created) == ("csv", 3, 3)
    small = Asset.objects.get(slug="my-token")
    assert (small.symbol, small.name, small.source) == ("MYT", "My Token", "csv")
    assert small.market_cap == D("20000000")
    assert small.volume_24h == D("12000.50")
    assert Asset.objects.get(slug="big-coin").market_cap == D("501880876917")
    dust = Asset.objects.get(slug="dust")
    assert dust.price == D("0.000000000123456789")
    assert (dust.total_supply, dust.max_supply, dust.volume_24h) == (None, None, None)


@pytest.mark.django_db
def test_history_csv_imports_every_day_of_the_15_coins():
    out = StringIO()

    call_command(
        "import_markets", str(BUNDLED_HISTORY), "--format", "history", stdout=out
    )

    assert Asset.objects.count() == 15
    assert MarketSnapshot.objects.count() == 16965
    bitcoin = Asset.objects.get(slug="bitcoin")
    assert bitcoin.snapshots.count() == 1131
    first = bitcoin.snapshots.earliest()
    assert (first.price, first.circulating_supply) == (D("28137"), D("19322368.0"))
    # The newest day sets the current values.
    assert (bitcoin.price, bitcoin.last_updated) == (D("76134"), CG_100_TIME)
    assert "16965 rows; snapshots 16965 new" in out.getvalue()


@pytest.mark.django_db
def test_a_format_named_with_the_option_overrides_detection():
    with pytest.raises(CommandError, match="Missing column"):
        call_command("import_markets", str(BUNDLED_MARKETS), "--format", "csv")

    report = _import(CMC_WRAPPED.read_text(encoding="utf-8"), fmt=Format.COINGECKO)

    # Read as CoinGecko, a CoinMarketCap row has no current_price.
    assert {(e.position, e.field) for e in report.errors} == {
        (f"item {n}", "price") for n in range(1, 5)
    }
    assert Asset.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("", None, "Unknown file format"),
        ("[{'id': 'bitcoin'}]", None, "Not valid JSON"),
        ("{not json", None, "Not valid JSON"),
        ('{"status": {"error_code": 0}}', None, "without a `data` list"),
        ('{"data": {"1": {"id": 1}}}', None, "without a `data` list"),
        ('[{"id": "bitcoin", "price": 1}]', None, "neither `current_price`"),
        ("[]", None, "neither `current_price`"),
        ("coin,value\nbitcoin,1\n", None, "Unknown file format"),
        ("id,price\nbitcoin,1\n", Format.CSV, "Missing column(s): last_updated."),
        ('[{"id": "bitcoin"}]', Format.CSV, "Missing column"),
        ('{"id": "bitcoin"}', Format.COINGECKO, "Expected a JSON array"),
        (CSV_HEADER, "xml", "Unknown format 'xml'"),
    ],
    ids=[
        "empty",
        "single-quotes",
        "broken-json",
        "status-only",
        "data-object",
        "unknown-json-rows",
        "empty-array",
        "unknown-csv-header",
        "csv-missing-time",
        "json-read-as-csv",
        "object-read-as-coingecko",
        "unknown-format-name",
    ],
)
@pytest.mark.django_db
def test_an_unreadable_file_raises_format_error_and_records_nothing(text, fmt, message):
    with pytest.raises(FormatError) as excinfo:
        _import(text, fmt=fmt)

    assert message in str(excinfo.value)
    assert ImportRun.objects.count() == 0


@pytest.mark.django_db
def test_the_command_reports_unreadable_and_missing_files(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00id")

    with pytest.raises(CommandError, match="broken.json: Not valid JSON"):
        call_command("import_markets", str(broken))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_markets", str(binary))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_markets", str(tmp_path / "missing.json"))


# --- every kind of bad row ----------------------------------------------------

REMOVE = object()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"id": None}, "id", "Missing id."),
        ({"id": ""}, "id", "Missing id."),
        ({"id": REMOVE}, "id", "Missing id."),
        (
            {"id": "bit coin/2"},
            "id",
            "“bit coin/2” is not an id: use letters, digits, - and _ only.",
        ),
        ({"current_price": None}, "price", "Missing price."),
        ({"current_price": REMOVE}, "price", "Missing price."),
        ({"current_price": "abc"}, "price", "“abc” is not a number."),
        ({"total_volume": "NaN"}, "volume_24h", "“NaN” is not a number."),
        (
            {"circulating_supply": "Infinity"},
            "circulating_supply",
            "“Infinity” is not a number.",
        ),
        ({"total_supply": True}, "total_supply", "“True” is not a number."),
        ({"current_price": -5}, "price", "-5 is negative."),
        ({"max_supply": -21000000.0}, "max_supply", "-21000000.0 is negative."),
        (
            {"total_supply": 1e25},
            "total_supply",
            "1E+25 is too large (at most 22 digits before the point).",
        ),
        ({"name": "Bit\x00coin"}, "name", "Contains the control character U+0000."),
        ({"symbol": "b\ntc"}, "symbol", "Contains the control character U+000A."),
        ({"id": "bit\x1bcoin"}, "id", "Contains the control character U+001B."),
        ({"name": "Bit\ud800"}, "name", "Contains the control character U+D800."),
        (
            {"current_price": 1e21, "circulating_supply": 1e21, "max_supply": None},
            "price",
            "Price × circulating supply is too large to store.",
        ),
        (
            {"current_price": 1e21, "circulating_supply": 1, "max_supply": 1e21},
            "price",
            "Price × supply is too large to store.",
        ),
        (
            {"market_cap": 1e45},
            "provider_market_cap",
            "1E+45 is too large (at most 42 digits before the point).",
        ),
        ({"market_cap_rank": 2.5}, "provider_rank", "Not a whole number rank."),
        ({"market_cap_rank": -1}, "provider_rank", "-1 is negative."),
        (
            {"last_updated": "2031-01-01T00:00:00Z"},
            "last_updated",
            "“2031-01-01T00:00:00Z” is in the future (it is now 2026-05-01 00:00 UTC).",
        ),
        (
            {"last_updated": "0001-01-01T00:00:00Z"},
            "last_updated",
            "“0001-01-01T00:00:00Z” is before 2009-01-03.",
        ),
        (
            {"last_updated": "2026-04-30T02:29:06+25:00"},
            "last_updated",
            "“2026-04-30T02:29:06+25:00” is not a time with a zone.",
        ),
        (
            {"last_updated": ["2026"]},
            "last_updated",
            "“['2026']” is not a time with a zone.",
        ),
        ({"name": {"en": "Bitcoin"}}, "name", "Not a text value."),
        ({"current_price": [1]}, "price", "“[Decimal('1')]” is not a number."),
        (
            {"last_updated": "yesterday"},
            "last_updated",
            "“yesterday” is not a time with a zone.",
        ),
        (
            {"last_updated": "2026-02-30T02:29:06Z"},
            "last_updated",
            "“2026-02-30T02:29:06Z” is not a time with a zone.",
        ),
        (
            {"last_updated": "2026-04-30T02:29:06"},
            "last_updated",
            "“2026-04-30T02:29:06” is not a time with a zone.",
        ),
        ({"last_updated": None}, "last_updated", "“None” is not a time with a zone."),
        ({"symbol": "x" * 41}, "symbol", "Longer than 40 characters."),
        ({"name": "x" * 201}, "name", "Longer than 200 characters."),
    ],
    ids=[
        "id-null",
        "id-empty",
        "id-absent",
        "id-not-a-slug",
        "price-null",
        "price-absent",
        "price-not-a-number",
        "volume-nan",
        "circulating-infinity",
        "total-a-boolean",
        "price-negative",
        "max-negative",
        "total-too-large",
        "name-nul",
        "symbol-newline",
        "id-escape",
        "name-lone-surrogate",
        "cap-overflows",
        "fdv-overflows",
        "provider-cap-too-large",
        "rank-fraction",
        "rank-negative",
        "time-future",
        "time-before-bitcoin",
        "time-offset-25h",
        "time-a-list",
        "name-an-object",
        "price-a-list",
        "time-unparseable",
        "time-impossible-date",
        "time-naive",
        "time-null",
        "symbol-too-long",
        "name-too-long",
    ],
)
@pytest.mark.django_db
def test_a_bad_row_is_reported_with_position_field_and_reason_and_nothing_changes(
    change, field, message, time_machine
):
    time_machine.move_to(datetime(2026, 5, 1, tzinfo=UTC), tick=False)
    bad = {k: v for k, v in _coingecko_row(**change).items() if v is not REMOVE}
    good = _coingecko_row(id="ethereum", symbol="eth", name="Ethereum")

    report = _import(json.dumps([good, bad]))

    assert report.errors == [RowError("item 2", field, message)]
    assert not report.applied
    assert (report.rows, report.skipped) == (2, 1)
    assert Asset.objects.count() == MarketSnapshot.objects.count() == 0
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.REJECTED
    assert run.errors == [{"position": "item 2", "field": field, "message": message}]


@pytest.mark.django_db
def test_the_same_asset_twice_at_the_same_time_is_a_bad_row():
    first = _coingecko_row()
    same_instant = _coingecko_row(
        current_price=76135, last_updated="2026-04-30T04:29:06.506+02:00"
    )
    later = _coingecko_row(last_updated="2026-04-30T03:00:00Z")

    report = _import(json.dumps([first, later, same_instant]))

    assert report.errors == [
        RowError("item 3", "id", "The same asset and time appear twice in the file.")
    ]
    assert MarketSnapshot.objects.count() == 0


@pytest.mark.django_db
def test_every_bad_csv_line_is_reported_by_its_line_number():
    text = (
        f"{CSV_HEADER}\n"
        "bitcoin,btc,Bitcoin,76134,20022396,20022396,21000000,1,2026-04-30T02:29:06Z\n"
        ",eth,Ethereum,2300,120000000,,,100,2026-04-30T02:29:06Z\n"
        "solana,sol,Solana,,575000000,,,100,2026-04-30T02:29:06Z\n"
        "\n"
        "tron,trx,TRON,abc,-1,,,100,2026-04-30 02:29\n"
        "bitcoin,btc,Bitcoin,76135,20022396,20022396,21000000,1,2026-04-30T02:29:06+00:00\n"
        "ripple,xrp,X\x00RP,1.4,60000000000,100000000000,50000000000,1,2026-04-30T02:29:06Z\n"
    )

    report = _import(text)

    assert sorted((e.position, e.field) for e in report.errors) == [
        ("line 3", "id"),
        ("line 4", "price"),
        ("line 6", "circulating_supply"),
        ("line 6", "last_updated"),
        ("line 6", "price"),
        ("line 7", "id"),
        ("line 8", "name"),
    ]
    assert (report.rows, report.skipped, report.applied) == (6, 5, False)
    assert Asset.objects.count() == 0


@pytest.mark.django_db
def test_skip_invalid_applies_the_good_csv_lines_and_reports_the_rest():
    text = (
        f"{CSV_HEADER}\n"
        "bitcoin,btc,Bitcoin,76134,20022396,20022396,21000000,1,2026-04-30T02:29:06Z\n"
        "solana,sol,Solana,-150,575000000,,,100,2026-04-30T02:29:06Z\n"
        "tron,trx,TRON,0.3,95000000000,,,100,2026-04-30T02:29:06Z\n"
    )

    report = _import(text, skip_invalid=True)

    assert report.errors == [RowError("line 3", "price", "-150 is negative.")]
    assert (report.applied, report.created, report.skipped) == (True, 2, 1)
    assert sorted(Asset.objects.values_list("slug", flat=True)) == ["bitcoin", "tron"]
    assert ImportRun.objects.get().status == ImportRun.Status.APPLIED


# --- all or nothing -----------------------------------------------------------


def _newer_top_100(bad_item: int | None = None) -> str:
    """The bundled top 100 a day later at 1 % higher prices; one row bad if asked."""
    items = json.loads(BUNDLED_MARKETS.read_text(encoding="utf-8"))
    for n, item in enumerate(items, 1):
        item["current_price"] = f"{Decimal(str(item['current_price'])) * D('1.01')}"
        item["last_updated"] = "2026-05-01T02:00:00Z"
        if n == bad_item:
            item["current_price"] = -1
    return json.dumps(items)


@pytest.mark.django_db
def test_a_file_with_one_bad_row_changes_nothing():
    _import_file(BUNDLED_MARKETS)
    before = _state()

    report = _import(_newer_top_100(bad_item=50))

    assert report.errors == [RowError("item 50", "price", "-1 is negative.")]
    assert not report.applied
    assert _state() == before
    assert Asset.objects.get(slug="bitcoin").price == D("76134")
    run = ImportRun.objects.latest("pk")
    assert (run.status, run.rows, run.skipped) == ("rejected", 100, 1)


@pytest.mark.django_db
def test_the_command_changes_nothing_for_a_file_with_one_bad_row(tmp_path):
    _import_file(BUNDLED_MARKETS)
    before = _state()
    path = tmp_path / "markets.json"
    path.write_text(_newer_top_100(bad_item=100), encoding="utf-8")
    err = StringIO()

    with pytest.raises(CommandError, match="Nothing imported: 1 problem"):
        call_command("import_markets", str(path), stderr=err)

    assert err.getvalue() == "markets.json: item 100: price: -1 is negative.\n"
    assert _state() == before


@pytest.mark.django_db
def test_the_same_file_with_skip_invalid_applies_the_99_good_rows():
    _import_file(BUNDLED_MARKETS)
    items = json.loads(BUNDLED_MARKETS.read_text(encoding="utf-8"))
    bad_slug = items[49]["id"]

    report = _import(_newer_top_100(bad_item=50), skip_invalid=True)

    assert (report.applied, report.created, report.updated, report.skipped) == (
        True,
        99,
        0,
        1,
    )
    assert Asset.objects.get(slug="bitcoin").price == D("76895.34")
    assert Asset.objects.get(slug=bad_slug).last_updated == parse_datetime(
        items[49]["last_updated"]
    )
    assert MarketSnapshot.objects.count() == 199


# --- idempotence ---------------------------------------------------------------


@pytest.mark.parametrize(
    "paths",
    [
        [BUNDLED_MARKETS],
        [CG_250],
        [BUNDLED_MARKETS, CMC_100],
    ],
    ids=["coingecko-100", "coingecko-250", "coinmarketcap-after-coingecko"],
)
@pytest.mark.django_db
def test_importing_the_same_file_twice_changes_nothing_the_second_time(paths):
    *setup, path = paths
    for earlier in setup:
        _import_file(earlier)
    first = _import_file(path, skip_invalid=True)
    after_first = _state()

    second = _import_file(path, skip_invalid=True)

    assert (second.created, second.updated, second.assets_created) == (0, 0, 0)
    assert second.unchanged == first.created
    assert _state() == after_first
    run = ImportRun.objects.latest("pk")
    assert (run.created, run.updated, run.unchanged) == (0, 0, first.created)


@pytest.mark.django_db
def test_importing_the_capsite_csv_twice_changes_nothing_the_second_time():
    text = (
        f"{CSV_HEADER}\n"
        "dust,DST,Dust,0.0000029939910747865527,1000,,,,2026-04-30T00:00:00Z\n"
        "big-coin,BIG,Big Coin,25761,19482197,19482197,21000000,1000000000,"
        "2026-04-30T00:00:00Z\n"
    )
    _import(text)
    # Stored as the database keeps it: 18 decimals, rounded half up.
    assert Asset.objects.get(slug="dust").price == D("0.000002993991074787")

    second = _import(text)

    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert MarketSnapshot.objects.count() == 2


@pytest.mark.django_db
def test_a_corrected_row_updates_its_snapshot_instead_of_duplicating_it():
    _import(json.dumps([_coingecko_row()]))

    report = _import(json.dumps([_coingecko_row(current_price=76135)]))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    snapshot = MarketSnapshot.objects.get()
    assert snapshot.price == D("76135")
    assert Asset.objects.get().price == D("76135")


# --- the older-file rule ----------------------------------------------------------


@pytest.mark.django_db
def test_an_older_file_adds_history_but_never_overwrites_newer_current_values():
    _import_file(BUNDLED_MARKETS)

    report = _import_file(CG_250)

    # 60 coins are in both files; 190 are new.
    assert (report.created, report.updated, report.assets_created) == (250, 0, 190)
    assert Asset.objects.count() == 290
    bitcoin = Asset.objects.get(slug="bitcoin")
    assert (bitcoin.price, bitcoin.last_updated) == (D("76134"), CG_100_TIME)
    assert list(bitcoin.snapshots.values_list("taken_at", "price")) == [
        (CG_250_BITCOIN_TIME, D("41778")),
        (CG_100_TIME, D("76134")),
    ]
    newer = {
        item["id"]: parse_datetime(item["last_updated"])
        for item in json.loads(BUNDLED_MARKETS.read_text(encoding="utf-8"))
    }
    kept = dict(
        Asset.objects.filter(slug__in=newer).values_list("slug", "last_updated")
    )
    assert kept == newer
    assert MarketSnapshot.objects.filter(taken_at__year=2024).count() == 250


@pytest.mark.django_db
def test_a_newer_file_after_an_older_one_sets_the_current_values():
    _import_file(CG_250, skip_invalid=True)

    _import_file(BUNDLED_MARKETS)

    bitcoin = Asset.objects.get(slug="bitcoin")
    assert (bitcoin.price, bitcoin.last_updated) == (D("76134"), CG_100_TIME)
    assert bitcoin.snapshots.count() == 2


@pytest.mark.django_db
def test_the_newest_row_of_a_file_sets_current_values_whatever_the_order():
    newer = _coingecko_row(current_price=150, last_updated="2026-04-30T02:00:00Z")
    older = _coingecko_row(current_price=140, last_updated="2026-04-29T02:00:00Z")

    _import(json.dumps([newer, older]))

    asset = Asset.objects.get()
    assert asset.price == D("150")
    assert asset.last_updated == datetime(2026, 4, 30, 2, tzinfo=UTC)
    assert asset.snapshots.count() == 2


# --- queries do not grow per row ------------------------------------------------


def _batches(model: type, rows: int) -> int:
    """Statements Django needs to bulk-create ``rows`` (our batches are 500)."""
    fields = [
        f for f in model._meta.concrete_fields if not f.generated and not f.primary_key
    ]
    size = min(500, connection.ops.bulk_batch_size(fields, [None] * rows))
    return math.ceil(rows / size)


@pytest.mark.django_db
def test_import_queries_grow_only_with_the_number_of_batches():
    small_text = _generated_coingecko(assets=5, days=10)
    large_text = _generated_coingecko(assets=100, days=10)

    with CaptureQueriesContext(connection) as small:
        _import(small_text)
    Asset.objects.all().delete()
    with CaptureQueriesContext(connection) as large:
        report = _import(large_text)

    assert report.created == 1000
    extra = (
        _batches(Asset, 100)
        - _batches(Asset, 5)
        + _batches(MarketSnapshot, 1000)
        - _batches(MarketSnapshot, 50)
    )
    assert len(large) - len(small) == extra
    # About sixteen of them refresh the stored market state (ranks, tiers,
    # totals, category peers: valuations.peers adds at most six).
    assert len(large) < 46


@pytest.mark.django_db
def test_reimporting_1000_rows_reads_in_a_fixed_number_of_queries():
    text = _generated_coingecko(assets=100, days=10)
    _import(text)

    with CaptureQueriesContext(connection) as captured:
        report = _import(text)

    assert (report.created, report.updated, report.unchanged) == (0, 0, 1000)
    assert len(captured) <= 10


# --- unlock schedules -------------------------------------------------------------

UNLOCKS = (
    "asset,date,amount,note\n"
    "arbitrum,2026-06-16,92650000,Team and investors\n"
    "sui,2026-06-01,64190000,Series A\n"
)


@pytest.fixture
def unlock_assets(db):
    return (
        AssetFactory(slug="arbitrum", symbol="arb", name="Arbitrum"),
        AssetFactory(slug="sui", symbol="sui", name="Sui"),
    )


def test_unlock_csv_imports_every_row(unlock_assets):
    report = import_unlocks(UNLOCKS)

    assert (report.rows, report.created, report.updated, report.errors) == (
        2,
        2,
        0,
        [],
    )
    assert list(
        SupplyUnlock.objects.order_by("date").values_list(
            "asset__slug", "date", "amount", "note"
        )
    ) == [
        ("sui", date(2026, 6, 1), D("64190000"), "Series A"),
        ("arbitrum", date(2026, 6, 16), D("92650000"), "Team and investors"),
    ]


def test_an_amount_with_19_digits_and_19_decimals_is_rounded_not_a_crash(
    unlock_assets, time_machine
):
    # 37 significant digits: past the default 28-digit context of quantize.
    time_machine.move_to(datetime(2026, 5, 1, tzinfo=UTC), tick=False)
    report = import_unlocks(
        "asset,date,amount,note\n"
        "sui,2026-06-01,6479626615780062691.3048617639975789237,\n"
    )

    assert report.errors == []
    assert SupplyUnlock.objects.get().amount == _stored(
        "6479626615780062691.304861763997578924"
    )


def test_reimporting_unlocks_updates_them_by_asset_and_date(unlock_assets):
    import_unlocks(UNLOCKS)

    report = import_unlocks(
        UNLOCKS.replace("92650000,Team and investors", "92000000,Team (revised)")
    )

    assert (report.created, report.updated) == (0, 1)
    assert SupplyUnlock.objects.count() == 2
    unlock = SupplyUnlock.objects.get(asset__slug="arbitrum")
    assert (unlock.amount, unlock.note) == (D("92000000"), "Team (revised)")
    again = import_unlocks(
        UNLOCKS.replace("92650000,Team and investors", "92000000,Team (revised)")
    )
    assert (again.created, again.updated) == (0, 0)


def test_every_bad_unlock_row_is_reported_and_nothing_is_imported(unlock_assets):
    arbitrum, _ = unlock_assets
    SupplyUnlockFactory(asset=arbitrum, date=date(2026, 7, 1), amount=D("5"))
    text = (
        "asset,date,amount,note\n"
        "arbitrum,2026-06-16,92650000,good\n"
        "nosuchcoin,2026-06-16,1,\n"
        "sui,2026-02-30,1,\n"
        "sui,2026-06-02,abc,\n"
        "\n"
        "sui,2026-06-03,-5,\n"
        "sui,2026-06-04,0,\n"
        "sui,2026-06-05,,\n"
        "arbitrum,2026-06-16,1,again\n"
        "arbitrum,2026-07-01,1e30,\n"
    )

    report = import_unlocks(text)

    assert report.errors == [
        RowError("line 3", "asset", "Unknown asset “nosuchcoin”."),
        RowError("line 4", "date", "“2026-02-30” is not a date."),
        RowError("line 5", "amount", "“abc” is not a number."),
        RowError("line 7", "amount", "-5 is negative."),
        RowError("line 8", "amount", "Must be more than zero."),
        RowError("line 9", "amount", "Missing amount."),
        RowError("line 10", "date", "Same asset and date twice."),
        RowError(
            "line 11",
            "amount",
            "1e30 is too large (at most 22 digits before the point).",
        ),
    ]
    assert list(SupplyUnlock.objects.values_list("date", "amount")) == [
        (date(2026, 7, 1), D("5"))
    ]
    assert (report.created, report.updated) == (0, 0)


def test_an_unlock_csv_without_the_header_is_a_format_error(unlock_assets):
    with pytest.raises(FormatError, match=r"Missing column\(s\): amount"):
        import_unlocks("asset,date,tokens\narbitrum,2026-06-16,1\n")


def test_the_unlock_command_exits_non_zero_on_a_bad_file(unlock_assets, tmp_path):
    bad = tmp_path / "unlocks.csv"
    bad.write_text("asset,date,amount,note\nsui,2026-06-01,-1,\n", encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text(UNLOCKS, encoding="utf-8")
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="Nothing imported: 1 bad row"):
        call_command("import_unlocks", str(bad), stderr=err)
    call_command("import_unlocks", str(good), stdout=out)

    assert "unlocks.csv: line 2: amount: -1 is negative." in err.getvalue()
    assert "2 unlocks added, 0 updated." in out.getvalue()


def test_the_unlock_command_records_its_import_run(unlock_assets, tmp_path):
    path = tmp_path / "schedule.csv"
    path.write_text(UNLOCKS, encoding="utf-8")

    call_command("import_unlocks", str(path), stdout=StringIO())

    run = ImportRun.objects.get(format="unlocks")
    assert (run.source, run.triggered_by, run.status) == (
        "schedule.csv",
        "import_unlocks",
        ImportRun.Status.APPLIED,
    )
    assert run.created == SupplyUnlock.objects.count()


def test_on_the_real_top_100_about_one_coin_in_six_is_thin_not_btc_or_eth(db):
    """PRODUCT.md: the thin-market rule flags about one coin in six of the real
    2026 top 100 (tokenised funds, exchange tokens), never Bitcoin or Ethereum;
    the old band rule (turnover below 10 %) flagged most of them."""
    from valuations import metrics
    from valuations.imports import load_bundled_market_data
    from valuations.models import Asset

    load_bundled_market_data()
    rows = list(Asset.objects.values_list("slug", "volume_24h", "market_cap"))
    thin = {slug for slug, volume, cap in rows if metrics.is_thin_market(volume, cap)}
    low_band = [
        slug
        for slug, volume, cap in rows
        if metrics.turnover_band(metrics.volume_to_market_cap(volume, cap)) == "low"
    ]

    assert len(rows) == 100
    assert 10 <= len(thin) <= 25
    assert "bitcoin" not in thin and "ethereum" not in thin
    assert len(low_band) > 3 * len(thin)


def test_an_import_run_starts_before_it_finishes(db, time_machine):
    """The run's start is when the import began, not when its record was saved."""
    from datetime import UTC, datetime

    from valuations.imports import import_markets

    time_machine.move_to(datetime(2026, 4, 30, 12, tzinfo=UTC), tick=True)
    report = import_markets(
        '[{"id": "coin", "symbol": "c", "name": "Coin", "current_price": 1,'
        ' "circulating_supply": 10, "last_updated": "2026-04-30T11:00:00Z"}]',
        fmt="coingecko",
        source="test.json",
        triggered_by="test",
    )

    run = report.run
    assert run is not None and run.finished is not None
    assert run.started <= run.finished


@pytest.mark.django_db
def test_skip_invalid_still_exits_non_zero_when_every_row_is_bad(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": "", "symbol": "x", "name": "X", "current_price": -1}]')
    err = StringIO()

    with pytest.raises(CommandError, match="every row was skipped"):
        call_command(
            "import_markets",
            str(bad),
            "--format",
            "coingecko",
            "--skip-invalid",
            stderr=err,
        )

    assert Asset.objects.count() == 0
    assert "item 1" in err.getvalue()
