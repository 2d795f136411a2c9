"""Admin imports: upload, preview, confirm or cancel; provider ids; unlock CSVs."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from tests.factories import AssetFactory, SupplyUnlockFactory, UserFactory
from tests.valuations.markets import _coingecko
from valuations.models import (
    Asset,
    ImportRun,
    MarketSnapshot,
    Provider,
    ProviderId,
    SupplyUnlock,
)

UPLOAD = "admin:valuations_importrun_upload"
UNLOCK_UPLOAD = "admin:valuations_supplyunlock_upload"


def _cmc(coin_id: int, symbol: str, name: str, price: str) -> dict[str, Any]:
    """One listings/latest item with its USD quote."""
    return {
        "id": coin_id,
        "name": name,
        "symbol": symbol,
        "slug": name.lower().replace(" ", "-"),
        "circulating_supply": "140000000",
        "total_supply": "140000000",
        "max_supply": "200000000",
        "last_updated": "2026-04-30T02:00:00.000Z",
        "quote": {"USD": {"price": price, "volume_24h": "1500000000"}},
    }


def _file(content: str | bytes, name: str = "markets.json") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _upload(client: Client, content: str | bytes, **data: Any):
    name = data.pop("name", "markets.json")
    return client.post(reverse(UPLOAD), {"file": _file(content, name), **data})


def _pending_run() -> ImportRun:
    return ImportRun.objects.get(status=ImportRun.Status.PENDING)


def _preview_url(run: ImportRun) -> str:
    return reverse("admin:valuations_importrun_preview", args=[run.pk])


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _written() -> tuple[int, int]:
    return Asset.objects.count(), MarketSnapshot.objects.count()


def test_upload_previews_the_changes_and_writes_nothing_until_confirmed(
    staff_client: Client,
):
    AssetFactory(slug="ethereum", symbol="eth", name="Ethereum", price=Decimal("2"))
    before = _written()
    markets = [
        _coingecko("bitcoin", current_price="76134"),
        _coingecko("ethereum", current_price="2300"),
    ]

    response = _upload(staff_client, json.dumps(markets), name="top.json")

    run = _pending_run()
    assert response.status_code == 302
    assert response["Location"] == _preview_url(run)
    assert (run.source, run.format, run.triggered_by) == (
        "top.json",
        "coingecko",
        "admin",
    )
    assert run.payload
    preview = staff_client.get(_preview_url(run))
    assert preview.status_code == 200
    summary = dict(preview.context["summary"])
    assert summary["Rows in the file"] == 2
    assert summary["New snapshots"] == 2
    assert summary["Changed snapshots"] == 0
    assert summary["New assets"] == 1
    assert summary["Assets whose current values change"] == 1
    assert summary["Bad rows"] == 0
    assert "Bitcoin (BIT)" in preview.content.decode()
    assert _written() == before

    confirmed = staff_client.post(_preview_url(run), {"confirm": "Confirm import"})

    applied = ImportRun.objects.get(status=ImportRun.Status.APPLIED)
    assert confirmed.status_code == 302
    assert confirmed["Location"] == reverse(
        "admin:valuations_importrun_change", args=[applied.pk]
    )
    assert not ImportRun.objects.filter(pk=run.pk).exists()
    assert (applied.source, applied.created, applied.triggered_by) == (
        "top.json",
        2,
        "admin",
    )
    assert Asset.objects.get(slug="bitcoin").price == Decimal("76134")
    assert Asset.objects.get(slug="ethereum").price == Decimal("2300")
    assert MarketSnapshot.objects.count() == before[1] + 2
    assert _messages(confirmed) == [
        "Imported top.json: 2 new, 0 updated, 0 unchanged snapshots; 1 new asset."
    ]


def _rendered(error: Any) -> str:
    """An error as a row of the bad-rows table (HTML-escaped like the template)."""
    cells = (error.position, error.field, error.message)
    return "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"


def _bad_file() -> str:
    return json.dumps(
        [
            _coingecko("bitcoin"),
            _coingecko("badcoin", current_price="-1"),
            _coingecko("timeless", last_updated="yesterday"),
        ]
    )


def test_preview_lists_each_bad_row_with_its_position_field_and_reason(
    staff_client: Client,
):
    _upload(staff_client, _bad_file())

    response = staff_client.get(_preview_url(_pending_run()))

    errors = response.context["row_errors"]
    assert [(e.position, e.field) for e in errors] == [
        ("item 2", "price"),
        ("item 3", "last_updated"),
    ]
    assert _rendered(errors[0]) in response.content.decode()
    assert _rendered(errors[1]) in response.content.decode()
    assert dict(response.context["summary"])["Bad rows"] == 2
    assert not Asset.objects.exists()


def test_confirming_bad_rows_without_skip_applies_nothing_and_shows_the_rejected_run(
    staff_client: Client,
):
    _upload(staff_client, _bad_file())

    response = staff_client.post(
        _preview_url(_pending_run()), {"confirm": "Confirm import"}, follow=True
    )

    rejected = ImportRun.objects.get()
    assert rejected.status == ImportRun.Status.REJECTED
    assert rejected.skipped == 2
    assert _written() == (0, 0)
    html = response.content.decode()
    assert "Nothing imported: 2 rows bad." in html
    assert "<tr><td>item 2</td><td>price</td><td>" in html
    assert "<tr><td>item 3</td><td>last_updated</td><td>" in html


def test_confirming_with_skip_applies_the_good_rows_and_reports_the_bad_ones(
    staff_client: Client,
):
    _upload(staff_client, _bad_file())

    response = staff_client.post(
        _preview_url(_pending_run()),
        {"confirm": "Confirm import", "skip_invalid": "on"},
    )

    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.APPLIED
    assert (run.created, run.skipped, len(run.errors)) == (1, 2, 2)
    assert list(Asset.objects.values_list("slug", flat=True)) == ["bitcoin"]
    assert _messages(response) == [
        "Imported markets.json: 1 new, 0 updated, 0 unchanged snapshots; "
        "1 new asset; 2 bad rows skipped."
    ]


def test_the_skip_choice_made_at_upload_is_ticked_on_the_preview(
    staff_client: Client,
):
    _upload(staff_client, _bad_file(), skip_invalid="on")

    response = staff_client.get(_preview_url(_pending_run()))

    assert response.context["skip_invalid"] is True
    assert 'name="skip_invalid" id="id_skip_invalid" checked' in (
        response.content.decode()
    )


def test_cancel_applies_nothing_and_marks_the_run_cancelled(staff_client: Client):
    _upload(staff_client, json.dumps([_coingecko("bitcoin")]))
    run = _pending_run()

    response = staff_client.post(_preview_url(run), {"cancel": "Cancel upload"})

    run.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:valuations_importrun_changelist")
    assert run.status == ImportRun.Status.CANCELLED
    assert run.payload == ""
    assert run.finished is not None
    assert _written() == (0, 0)


def test_a_handled_upload_cannot_be_confirmed_again(staff_client: Client):
    _upload(staff_client, json.dumps([_coingecko("bitcoin")]))
    url = _preview_url(_pending_run())
    staff_client.post(url, {"confirm": "Confirm import"})

    again = staff_client.post(url, {"confirm": "Confirm import"})

    assert again.status_code == 404
    assert ImportRun.objects.get().status == ImportRun.Status.APPLIED
    assert MarketSnapshot.objects.count() == 1


def test_a_cancelled_upload_cannot_be_confirmed(staff_client: Client):
    _upload(staff_client, json.dumps([_coingecko("bitcoin")]))
    run = _pending_run()
    staff_client.post(_preview_url(run), {"cancel": "Cancel upload"})

    response = staff_client.post(_preview_url(run), {"confirm": "Confirm import"})

    assert response["Location"] == reverse(
        "admin:valuations_importrun_change", args=[run.pk]
    )
    assert _written() == (0, 0)


def test_a_preview_older_than_a_day_cannot_be_confirmed(staff_client: Client):
    _upload(staff_client, json.dumps([_coingecko("bitcoin")]))
    run = _pending_run()
    ImportRun.objects.filter(pk=run.pk).update(
        started=timezone.now() - timedelta(days=1, minutes=1)
    )

    response = staff_client.post(_preview_url(run), {"confirm": "Confirm import"})

    assert response["Location"] == reverse(UPLOAD)
    assert _written() == (0, 0)


def test_a_new_upload_cancels_previews_older_than_a_day(staff_client: Client):
    _upload(staff_client, json.dumps([_coingecko("bitcoin")]))
    stale = _pending_run()
    ImportRun.objects.filter(pk=stale.pk).update(
        started=timezone.now() - timedelta(days=2)
    )

    _upload(staff_client, json.dumps([_coingecko("ethereum")]))

    stale.refresh_from_db()
    assert (stale.status, stale.payload) == (ImportRun.Status.CANCELLED, "")
    assert _pending_run().source == "markets.json"


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        ("{not json", "", "Not valid JSON: Expecting property name enclosed"),
        ("hello,world\n1,2\n", "", "Unknown file format; a CSV needs the header"),
        ("[1, 2]", "", "JSON rows have neither `current_price` nor `quote`."),
        ("id,price\n", "coingecko", "Not valid JSON"),
        (b"\xff\xfe\x00bad", "", "The file is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_on_the_file_field(
    staff_client: Client, content: str | bytes, fmt: str, message: str
):
    response = _upload(staff_client, content, format=fmt)

    assert response.status_code == 400
    (error,) = response.context["form"].errors["file"]
    assert error.startswith(message)
    assert not ImportRun.objects.exists()


def test_a_chosen_format_overrides_detection(staff_client: Client):
    csv = "id,symbol,name,price,last_updated\nbitcoin,btc,Bitcoin,76134,2026-04-30T02:00:00Z\n"

    _upload(staff_client, csv, name="prices.csv", format="csv")

    assert _pending_run().format == "csv"


@pytest.mark.parametrize("url_name", [UPLOAD, UNLOCK_UPLOAD])
def test_anonymous_and_non_staff_users_are_sent_to_the_admin_login(
    client: Client, user, url_name: str
):
    url = reverse(url_name)
    login = reverse("admin:login")

    anonymous = client.get(url)
    client.force_login(user)
    member = client.post(url, {"file": _file("[]")})

    assert anonymous.status_code == member.status_code == 302
    assert anonymous["Location"].startswith(login)
    assert member["Location"].startswith(login)
    assert not ImportRun.objects.exists()


def test_non_staff_users_cannot_reach_a_preview(client: Client, user):
    run = ImportRun.objects.create(
        source="x.json", format="coingecko", triggered_by="admin", status="pending"
    )
    client.force_login(user)

    response = client.post(_preview_url(run), {"confirm": "Confirm import"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PENDING


@pytest.mark.parametrize("url_name", [UPLOAD, UNLOCK_UPLOAD])
def test_staff_without_the_data_permissions_are_refused(
    client: Client, db, url_name: str
):
    clerk = UserFactory(username="clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_asset"))
    client.force_login(clerk)

    response = client.get(reverse(url_name))

    assert response.status_code == 403


def test_staff_with_the_data_permissions_can_upload(client: Client, db):
    clerk = UserFactory(username="clerk", is_staff=True)
    codenames = [
        "add_asset",
        "change_asset",
        "add_marketsnapshot",
        "change_marketsnapshot",
        "view_importrun",
    ]
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(clerk)

    response = _upload(client, json.dumps([_coingecko("bitcoin")]))

    assert response.status_code == 302
    assert _pending_run().triggered_by == "clerk"


def test_asset_and_import_lists_link_to_the_upload(staff_client: Client):
    link = f'<a href="{reverse(UPLOAD)}">Upload market data</a>'

    assets = staff_client.get(reverse("admin:valuations_asset_changelist"))
    runs = staff_client.get(reverse("admin:valuations_importrun_changelist"))

    assert link in assets.content.decode()
    assert link in runs.content.decode()


def test_import_runs_are_listed_with_their_counts_and_filtered_by_status(
    staff_client: Client,
):
    _upload(staff_client, _bad_file(), name="bad.json")
    staff_client.post(_preview_url(_pending_run()), {"confirm": "Confirm import"})
    _upload(staff_client, json.dumps([_coingecko("bitcoin")]), name="good.json")
    staff_client.post(_preview_url(_pending_run()), {"confirm": "Confirm import"})
    url = reverse("admin:valuations_importrun_changelist")

    everything = staff_client.get(url)
    rejected = staff_client.get(url, {"status__exact": "rejected"})

    html = everything.content.decode()
    assert [r.source for r in everything.context["cl"].result_list] == [
        "good.json",
        "bad.json",
    ]
    assert '<td class="field-status_label">Rejected</td>' in html
    assert '<td class="field-error_count">2</td>' in html
    assert [r.source for r in rejected.context["cl"].result_list] == ["bad.json"]


def test_import_run_list_runs_the_same_queries_for_2_or_20_runs(
    staff_client: Client,
):
    def make_runs(count: int) -> None:
        for n in range(count):
            ImportRun.objects.create(
                source=f"{n}.json",
                format="coingecko",
                triggered_by="admin",
                status="rejected",
                errors=[{"position": "item 1", "field": "price", "message": "x"}],
            )

    url = reverse("admin:valuations_importrun_changelist")
    make_runs(2)
    staff_client.get(url)
    with CaptureQueriesContext(connection) as two:
        staff_client.get(url)
    make_runs(18)
    with CaptureQueriesContext(connection) as twenty:
        staff_client.get(url)

    assert len(twenty) == len(two)


def test_an_import_run_page_is_read_only_with_a_table_of_errors(
    staff_client: Client,
):
    run = ImportRun.objects.create(
        source="bad.json",
        format="coingecko",
        triggered_by="admin",
        status="rejected",
        skipped=1,
        errors=[{"position": "item 4", "field": "price", "message": "Missing price."}],
    )
    url = reverse("admin:valuations_importrun_change", args=[run.pk])

    page = staff_client.get(url)
    post = staff_client.post(url, {"source": "changed.json"})
    add = staff_client.get(reverse("admin:valuations_importrun_add"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "<td>item 4</td><td>price</td><td>Missing price.</td>" in html
    assert 'name="source"' not in html
    assert post.status_code == 403
    assert add.status_code == 403
    run.refresh_from_db()
    assert run.source == "bad.json"


def test_a_pending_run_page_links_to_its_preview(staff_client: Client):
    _upload(staff_client, json.dumps([_coingecko("bitcoin")]))
    run = _pending_run()

    page = staff_client.get(reverse("admin:valuations_importrun_change", args=[run.pk]))

    assert f'<a href="{_preview_url(run)}">Review the preview and confirm</a>' in (
        page.content.decode()
    )


def _asset_change_form(asset: Asset, **mapping: str) -> dict[str, str]:
    """POST data for the asset page: its fields, one new provider id, no other rows."""
    data = {
        "slug": asset.slug,
        "symbol": asset.symbol,
        "name": asset.name,
        "price": str(asset.price),
        "circulating_supply": str(asset.circulating_supply),
        "total_supply": str(asset.total_supply),
        "max_supply": str(asset.max_supply),
        "volume_24h": str(asset.volume_24h),
        "last_updated_0": "2026-04-29",
        "last_updated_1": "02:00:00",
        "source": asset.source,
        "provider_ids-TOTAL_FORMS": "1",
        "provider_ids-INITIAL_FORMS": "0",
        "provider_ids-0-provider": mapping["provider"],
        "provider_ids-0-external_id": mapping["external_id"],
    }
    for prefix in ("snapshots", "unlocks"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def _bnb() -> Asset:
    return AssetFactory(
        source="csv",  # no CoinGecko id recorded: only the provider ids a test adds
        slug="binancecoin",
        symbol="bnb",
        name="BNB",
        price=Decimal("600"),
        circulating_supply=Decimal("140000000"),
        total_supply=Decimal("140000000"),
        max_supply=Decimal("200000000"),
    )


def test_a_provider_id_mapped_on_the_asset_page_imports_cmc_rows_onto_that_asset(
    staff_client: Client,
):
    bnb = _bnb()
    # Neither the name nor the slug agree: without the mapping it is unmatched.
    listings = json.dumps({"data": [_cmc(1839, "BNB", "Build N Build", "612.5")]})

    saved = staff_client.post(
        reverse("admin:valuations_asset_change", args=[bnb.pk]),
        _asset_change_form(bnb, provider=Provider.COINMARKETCAP, external_id="1839"),
    )
    _upload(staff_client, listings, name="listings.json")
    run = _pending_run()
    preview = staff_client.get(_preview_url(run))
    staff_client.post(_preview_url(run), {"confirm": "Confirm import"})

    assert saved.status_code == 302
    assert (
        ProviderId.objects.get(provider="coinmarketcap", external_id="1839").asset
        == bnb
    )
    assert dict(preview.context["summary"])["Rows waiting for mapping"] == 0
    bnb.refresh_from_db()
    assert bnb.price == Decimal("612.5")
    assert bnb.snapshots.get().price == Decimal("612.5")
    assert Asset.objects.count() == 1


def test_a_waiting_cmc_row_is_listed_with_its_candidates_and_their_prices(
    staff_client: Client,
):
    bnb = _bnb()
    listings = json.dumps({"data": [_cmc(1839, "BNB", "Build N Build", "612.5")]})

    _upload(staff_client, listings)
    response = staff_client.get(_preview_url(_pending_run()))

    html = response.content.decode()
    map_url = reverse("admin:valuations_providerid_add")
    assert (
        f'href="{map_url}?provider=coinmarketcap&amp;external_id=1839&amp;asset={bnb.pk}"'
        in html
    )
    assert "its symbol belongs to binancecoin, named otherwise" in html
    # bnb's current price, $600 on 2026-04-30, is 0.98 × the row's $612.50.
    assert "$600.00 on 2026-04-30" in html
    assert "0.98 × the row" in html
    assert dict(response.context["summary"])["Rows waiting for mapping"] == 1
    prefilled = staff_client.get(
        map_url, {"provider": "coinmarketcap", "external_id": "1839", "asset": bnb.pk}
    )
    initial = prefilled.context["adminform"].form.initial
    assert (initial["external_id"], str(initial["asset"])) == ("1839", str(bnb.pk))


def test_a_provider_id_already_mapped_is_refused_on_the_asset_page(
    staff_client: Client,
):
    other = AssetFactory(slug="other")
    ProviderId.objects.create(asset=other, provider="coinmarketcap", external_id="1839")
    bnb = _bnb()

    response = staff_client.post(
        reverse("admin:valuations_asset_change", args=[bnb.pk]),
        _asset_change_form(bnb, provider=Provider.COINMARKETCAP, external_id="1839"),
    )

    assert response.status_code == 200
    assert "This provider id already belongs to an asset." in response.content.decode()
    assert not bnb.provider_ids.exists()


def test_provider_ids_are_searchable_by_external_id_and_asset(staff_client: Client):
    bnb = _bnb()
    ProviderId.objects.create(asset=bnb, provider="coinmarketcap", external_id="1839")
    ProviderId.objects.create(
        asset=AssetFactory(slug="tether", symbol="usdt", name="Tether", source="csv"),
        provider="coinmarketcap",
        external_id="825",
    )
    url = reverse("admin:valuations_providerid_changelist")

    by_id = staff_client.get(url, {"q": "1839"})
    by_asset = staff_client.get(url, {"q": "tether"})

    assert [p.external_id for p in by_id.context["cl"].result_list] == ["1839"]
    assert [p.external_id for p in by_asset.context["cl"].result_list] == ["825"]


def _unlock_csv(*lines: str) -> SimpleUploadedFile:
    return _file("\n".join(["asset,date,amount,note", *lines]) + "\n", "unlocks.csv")


def test_an_unlock_csv_imports_every_row_and_is_recorded(staff_client: Client):
    arb = AssetFactory(slug="arbitrum", symbol="arb", name="Arbitrum")
    SupplyUnlockFactory(asset=arb, date=date(2026, 6, 16), amount=Decimal("1"))

    response = staff_client.post(
        reverse(UNLOCK_UPLOAD),
        {
            "file": _unlock_csv(
                "arbitrum,2026-06-16,92650000,Team and advisors",
                "arbitrum,2026-07-16,92650000,",
            )
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:valuations_supplyunlock_changelist")
    assert list(arb.unlocks.order_by("date").values_list("date", "amount")) == [
        (date(2026, 6, 16), Decimal("92650000")),
        (date(2026, 7, 16), Decimal("92650000")),
    ]
    assert _messages(response) == [
        "Imported unlocks from unlocks.csv: 1 new, 1 updated, 0 unchanged."
    ]
    run = ImportRun.objects.get()
    assert (run.format, run.status, run.rows, run.created, run.updated) == (
        "unlocks",
        ImportRun.Status.APPLIED,
        2,
        1,
        1,
    )


def test_an_unlock_csv_with_bad_rows_lists_each_and_imports_nothing(
    staff_client: Client,
):
    AssetFactory(slug="arbitrum")

    response = staff_client.post(
        reverse(UNLOCK_UPLOAD),
        {
            "file": _unlock_csv(
                "arbitrum,2026-06-16,92650000,good",
                "nocoin,2026-06-16,5,",
                "arbitrum,16/07/2026,-3,",
            )
        },
    )

    html = response.content.decode()
    errors = response.context["row_errors"]
    assert response.status_code == 400
    assert [(e.position, e.field) for e in errors] == [
        ("line 3", "asset"),
        ("line 4", "date"),
        ("line 4", "amount"),
    ]
    assert "Nothing imported: 3 problems in 3 rows." in html
    assert all(_rendered(error) in html for error in errors)
    assert not SupplyUnlock.objects.exists()
    assert ImportRun.objects.get().status == ImportRun.Status.REJECTED


def test_an_unlock_csv_without_its_columns_is_refused_on_the_file_field(
    staff_client: Client,
):
    response = staff_client.post(
        reverse(UNLOCK_UPLOAD), {"file": _file("coin,when\nx,y\n", "unlocks.csv")}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "Missing column(s): amount, asset, date; use asset,date,amount,note"
    ]
    assert not ImportRun.objects.exists()


def test_the_asset_form_shows_whole_supplies_in_digits_not_exponents(
    staff_client: Client,
):
    asset = _bnb()

    response = staff_client.get(
        reverse("admin:valuations_asset_change", args=[asset.pk])
    )

    assert 'name="circulating_supply" value="140000000"' in response.content.decode()


def test_the_unlock_list_links_to_the_upload(staff_client: Client):
    response = staff_client.get(reverse("admin:valuations_supplyunlock_changelist"))

    assert f'<a href="{reverse(UNLOCK_UPLOAD)}">Upload unlock CSV</a>' in (
        response.content.decode()
    )
