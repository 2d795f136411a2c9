"""Staged uploads: stage a file as a pending run, then confirm, cancel or expire it."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from tests.factories import AssetFactory
from tests.valuations.markets import _coingecko
from valuations.imports import FormatError
from valuations.imports.staged import (
    PREVIEW_TTL,
    NotPending,
    PreviewExpired,
    cancel_staged_import,
    check_pending,
    confirm_staged_import,
    expire_stale_previews,
    is_preview_expired,
    preview_staged_import,
    stage_upload,
)
from valuations.models import Asset, ImportRun, MarketSnapshot, ProviderId

pytestmark = pytest.mark.django_db


def _stage(*items: dict[str, Any], source: str = "markets.json") -> ImportRun:
    return stage_upload(
        text=json.dumps(list(items)), source=source, triggered_by="alice"
    )


def _age(run: ImportRun, by: timedelta) -> None:
    """Move a run's start back; ``started`` is auto_now_add, so update() it."""
    ImportRun.objects.filter(pk=run.pk).update(started=run.started - by)
    run.refresh_from_db()


def _written() -> tuple[int, int]:
    return Asset.objects.count(), MarketSnapshot.objects.count()


def test_staging_keeps_the_file_as_a_pending_run_and_writes_no_market_data():
    AssetFactory(slug="ethereum", price=Decimal("2"))

    run = _stage(
        _coingecko("bitcoin", current_price="76134"),
        _coingecko("ethereum", current_price="2300"),
        source="top.json",
    )

    assert run.status == ImportRun.Status.PENDING
    assert (run.source, run.format, run.triggered_by) == (
        "top.json",
        "coingecko",
        "alice",
    )
    assert (run.rows, run.created, run.finished) == (2, 2, None)
    assert json.loads(run.payload)[0]["id"] == "bitcoin"
    assert _written() == (1, 0)
    assert Asset.objects.get(slug="ethereum").price == Decimal("2")


def test_staging_an_unreadable_file_raises_and_stores_nothing():
    with pytest.raises(FormatError):
        stage_upload(text="{not json", source="bad.json", triggered_by="alice")

    assert not ImportRun.objects.exists()


def test_an_unreadable_upload_leaves_stale_previews_alone():
    stale = _stage(_coingecko("bitcoin"))
    _age(stale, PREVIEW_TTL + timedelta(minutes=1))

    with pytest.raises(FormatError):
        stage_upload(text="{not json", source="bad.json", triggered_by="alice")

    stale.refresh_from_db()
    assert stale.status == ImportRun.Status.PENDING


def test_staging_cancels_previews_older_than_a_day_and_keeps_fresh_ones():
    stale = _stage(_coingecko("bitcoin"), source="stale.json")
    fresh = _stage(_coingecko("ethereum"), source="fresh.json")
    _age(stale, PREVIEW_TTL + timedelta(minutes=1))

    _stage(_coingecko("solana"), source="new.json")

    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, stale.payload) == (ImportRun.Status.CANCELLED, "")
    assert stale.finished is not None
    assert fresh.status == ImportRun.Status.PENDING
    assert fresh.payload


def test_expiring_stale_previews_counts_them_and_leaves_finished_runs_alone():
    old_pending = _stage(_coingecko("bitcoin"))
    _age(old_pending, timedelta(days=3))
    applied = ImportRun.objects.create(
        source="done.json", format="coingecko", triggered_by="cron", status="applied"
    )
    _age(applied, timedelta(days=3))

    cancelled = expire_stale_previews()

    assert cancelled == 1
    applied.refresh_from_db()
    assert applied.status == ImportRun.Status.APPLIED
    assert expire_stale_previews() == 0


def test_a_preview_exactly_a_day_old_is_still_valid_and_a_moment_later_expired():
    with time_machine.travel("2026-05-01 12:00:00+00:00", tick=False):
        run = _stage(_coingecko("bitcoin"))
    at_limit = run.started + PREVIEW_TTL

    assert not is_preview_expired(run=run, now=at_limit)
    assert is_preview_expired(run=run, now=at_limit + timedelta(microseconds=1))


def test_confirming_applies_the_file_and_replaces_the_pending_run():
    AssetFactory(slug="ethereum", price=Decimal("2"))
    run = _stage(
        _coingecko("bitcoin", current_price="76134"),
        _coingecko("ethereum", current_price="2300"),
    )

    report = confirm_staged_import(run=run, triggered_by="bob")

    assert report.applied
    assert (report.created, report.assets_created) == (2, 1)
    assert not ImportRun.objects.filter(pk=run.pk).exists()
    applied = ImportRun.objects.get()
    assert applied == report.run
    assert (applied.status, applied.triggered_by) == (ImportRun.Status.APPLIED, "bob")
    assert Asset.objects.get(slug="bitcoin").price == Decimal("76134")
    assert Asset.objects.get(slug="ethereum").price == Decimal("2300")


def test_confirming_twice_applies_once():
    run = _stage(_coingecko("bitcoin"))
    confirm_staged_import(run=run, triggered_by="alice")

    with pytest.raises(NotPending):
        confirm_staged_import(run=run, triggered_by="alice")

    assert MarketSnapshot.objects.count() == 1
    assert ImportRun.objects.get().status == ImportRun.Status.APPLIED


def test_confirming_bad_rows_without_skip_records_a_rejected_run_and_writes_nothing():
    run = _stage(_coingecko("bitcoin"), _coingecko("badcoin", current_price="-1"))

    report = confirm_staged_import(run=run, triggered_by="alice")

    assert not report.applied
    assert report.run.status == ImportRun.Status.REJECTED
    assert report.skipped == 1
    assert _written() == (0, 0)
    assert not ImportRun.objects.filter(status=ImportRun.Status.PENDING).exists()


def test_confirming_with_skip_applies_the_good_rows_only():
    run = _stage(_coingecko("bitcoin"), _coingecko("badcoin", current_price="-1"))

    report = confirm_staged_import(run=run, triggered_by="alice", skip_invalid=True)

    assert report.applied
    assert (report.created, report.skipped) == (1, 1)
    assert list(Asset.objects.values_list("slug", flat=True)) == ["bitcoin"]


def test_an_expired_preview_cannot_be_confirmed_and_writes_nothing():
    run = _stage(_coingecko("bitcoin"))
    _age(run, PREVIEW_TTL + timedelta(minutes=1))

    with pytest.raises(PreviewExpired):
        confirm_staged_import(run=run, triggered_by="alice")

    assert _written() == (0, 0)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.PENDING


def test_cancelling_a_pending_run_changes_no_asset():
    AssetFactory(slug="bitcoin", price=Decimal("70000"))
    run = _stage(_coingecko("bitcoin", current_price="76134"))

    cancelled = cancel_staged_import(run=run)

    assert cancelled is True
    run.refresh_from_db()
    assert (run.status, run.payload) == (ImportRun.Status.CANCELLED, "")
    assert run.finished is not None
    assert Asset.objects.get(slug="bitcoin").price == Decimal("70000")
    assert not MarketSnapshot.objects.exists()


def test_a_cancelled_run_cannot_be_cancelled_again_or_confirmed():
    run = _stage(_coingecko("bitcoin"))
    cancel_staged_import(run=run)
    finished = ImportRun.objects.get(pk=run.pk).finished

    assert cancel_staged_import(run=run) is False
    with pytest.raises(NotPending):
        confirm_staged_import(run=run, triggered_by="alice")
    assert ImportRun.objects.get(pk=run.pk).finished == finished
    assert _written() == (0, 0)


def test_cancelling_a_confirmed_run_changes_nothing():
    run = _stage(_coingecko("bitcoin"))
    report = confirm_staged_import(run=run, triggered_by="alice")

    assert cancel_staged_import(run=run) is False
    assert ImportRun.objects.get().pk == report.run.pk
    assert MarketSnapshot.objects.count() == 1


def test_check_pending_accepts_a_fresh_run_and_refuses_handled_or_old_ones():
    fresh = _stage(_coingecko("bitcoin"))
    old = _stage(_coingecko("ethereum"))
    _age(old, PREVIEW_TTL + timedelta(minutes=1))
    done = _stage(_coingecko("solana"))
    cancel_staged_import(run=done)
    done.refresh_from_db()

    check_pending(run=fresh)
    with pytest.raises(PreviewExpired):
        check_pending(run=old)
    with pytest.raises(NotPending):
        check_pending(run=done)


def test_previewing_pairs_each_unmatched_row_with_the_row_it_came_from():
    AssetFactory(slug="binancecoin", symbol="bnb", name="BNB")
    listing = {
        "id": 1839,
        "name": "Build N Build",
        "symbol": "BNB",
        "slug": "build-n-build",
        "circulating_supply": "140000000",
        "total_supply": "140000000",
        "max_supply": "200000000",
        "last_updated": "2026-04-30T02:00:00.000Z",
        "quote": {"USD": {"price": "612.5", "volume_24h": "1500000000"}},
    }
    run = stage_upload(
        text=json.dumps({"data": [listing]}), source="cmc.json", triggered_by="alice"
    )

    preview = preview_staged_import(run=run)

    assert preview.format == "coinmarketcap"
    ((error, row),) = preview.unmatched
    assert (error.position, row.provider, row.external_id) == (
        "item 1",
        "coinmarketcap",
        "1839",
    )
    assert (preview.plan.skipped, preview.plan.waiting_rows) == (0, 1)
    (candidate,) = preview.plan.candidates["item 1"]
    assert candidate.asset.slug == "binancecoin"


def test_previewing_plans_again_so_a_mapping_added_since_the_upload_counts():
    bnb = AssetFactory(slug="binancecoin", symbol="bnb", name="BNB")
    listing = {
        "id": 1839,
        "name": "Build N Build",
        "symbol": "BNB",
        "slug": "build-n-build",
        "last_updated": "2026-04-30T02:00:00.000Z",
        "quote": {"USD": {"price": "612.5", "volume_24h": "1500000000"}},
    }
    run = stage_upload(
        text=json.dumps({"data": [listing]}), source="cmc.json", triggered_by="alice"
    )
    ProviderId.objects.create(asset=bnb, provider="coinmarketcap", external_id="1839")

    preview = preview_staged_import(run=run)

    assert preview.unmatched == []
    assert [a.slug for a in preview.plan.changed_assets] == ["binancecoin"]
    assert len(preview.plan.new_snapshots) == 1
    assert Asset.objects.get().price == bnb.price
