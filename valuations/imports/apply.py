"""Apply parsed market rows: match assets across providers, then upsert in bulk.

Everything is read in a fixed number of queries and written in bulk statements,
inside one transaction: a file is applied whole or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from valuations import metrics
from valuations.imports.formats import MARKET_FIELDS, MarketRow, RowError
from valuations.models import Asset, ImportRun, MarketSnapshot, Provider, ProviderId
from valuations.signals import announce_snapshots
from valuations.state import refresh_market_state

# SQLite keeps about 15 significant digits (a float read back through Django):
# compare within that, so re-importing a file finds its rows unchanged rather
# than "updated" by float noise. PostgreSQL compares exactly.
_SQLITE_TOLERANCE = Decimal("1e-14")


@dataclass
class ImportPlan:
    """What a file would change, computed without writing anything."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    unmatched: list[RowError] = field(default_factory=list)
    new_assets: list[Asset] = field(default_factory=list)
    changed_assets: list[Asset] = field(default_factory=list)
    new_mappings: list[tuple[str, str, str]] = field(default_factory=list)
    new_snapshots: list[MarketSnapshot] = field(default_factory=list)
    changed_snapshots: list[MarketSnapshot] = field(default_factory=list)
    unchanged: int = 0

    @property
    def skipped(self) -> int:
        return len({e.position for e in self.errors + self.unmatched})


def _same(a: Decimal | None, b: Decimal | None) -> bool:
    if a is None or b is None:
        return a is b
    if connection.vendor == "sqlite":
        return abs(a - b) <= max(abs(a), abs(b)) * _SQLITE_TOLERANCE
    return a == b


def _key(row: MarketRow) -> tuple[str, str]:
    return (row.provider, row.external_id)


def _match(
    rows: list[MarketRow],
) -> tuple[dict[tuple[str, str], Asset | str], list[RowError]]:
    """Return each row key's asset (or the slug of a new asset) and unmatched rows.

    CoinGecko ids and CSV ids are capsite ids: they match an asset of that slug
    or create it. A CoinMarketCap coin matches through its recorded provider id,
    else only when exactly one asset has its symbol and its name or slug; any
    other coin is reported for staff to map, never guessed.
    """
    keys = {_key(row) for row in rows}
    mapped = {
        (p.provider, p.external_id): p.asset
        for p in ProviderId.objects.filter(
            external_id__in={k[1] for k in keys}, provider__in={k[0] for k in keys}
        ).select_related("asset")
    }
    slugs = {row.external_id for row in rows if row.provider != Provider.COINMARKETCAP}
    by_slug = Asset.objects.in_bulk(slugs, field_name="slug")
    cmc = [
        r
        for r in rows
        if r.provider == Provider.COINMARKETCAP and _key(r) not in mapped
    ]
    by_symbol: dict[str, list[Asset]] = defaultdict(list)
    if cmc:
        symbols = {r.symbol.lower() for r in cmc}
        for asset in Asset.objects.annotate(lower_symbol=Lower("symbol")).filter(
            lower_symbol__in=symbols
        ):
            by_symbol[asset.lower_symbol].append(asset)
    result: dict[tuple[str, str], Asset | str] = dict(mapped)
    unmatched: list[RowError] = []
    for row in rows:
        key = _key(row)
        if key in result:
            continue
        if row.provider != Provider.COINMARKETCAP:
            result[key] = by_slug.get(row.external_id) or row.external_id
            continue
        confident = [
            a
            for a in by_symbol.get(row.symbol.lower(), [])
            if a.name.casefold() == row.name.casefold() or a.slug == row.slug_hint
        ]
        if len(confident) == 1:
            result[key] = confident[0]
        else:
            names = (
                ", ".join(a.slug for a in by_symbol.get(row.symbol.lower(), []))
                or "none"
            )
            unmatched.append(
                RowError(
                    row.position,
                    "id",
                    f"CoinMarketCap {row.external_id} ({row.symbol} “{row.name}”) matches no "
                    f"asset with confidence (same symbol: {names}). Map it in the admin.",
                )
            )
    return result, unmatched


def plan_import(rows: list[MarketRow], errors: list[RowError]) -> ImportPlan:
    """Classify every good row as a new, changed or unchanged snapshot, and find the
    current values to update (an older row never overwrites newer values)."""
    plan = ImportPlan(
        rows=len(rows) + len({e.position for e in errors}), errors=list(errors)
    )
    matches, plan.unmatched = _match(rows)
    # Duplicates are found on the matched asset: two provider ids that resolve
    # to one asset at one time would be two snapshots where one is allowed.
    seen: set[tuple[str, object]] = set()
    unique = []
    for row in rows:
        target = matches.get(_key(row))
        if target is None:
            continue
        marker = (target if isinstance(target, str) else target.slug, row.taken_at)
        if marker in seen:
            plan.errors.append(
                RowError(
                    row.position,
                    "id",
                    "The same asset and time appear twice in the file.",
                )
            )
            continue
        seen.add(marker)
        unique.append(row)

    newest: dict[str, MarketRow] = {}
    for row in unique:
        target = matches[_key(row)]
        slug = target if isinstance(target, str) else target.slug
        if slug not in newest or row.taken_at > newest[slug].taken_at:
            newest[slug] = row
    for slug, row in newest.items():
        target = matches[_key(row)]
        if isinstance(target, str):
            plan.new_assets.append(
                Asset(
                    slug=slug,
                    symbol=row.symbol,
                    name=row.name,
                    source=row.provider,
                    last_updated=row.taken_at,
                    **row.values(),
                )
            )
        elif (target.last_updated is None or target.last_updated <= row.taken_at) and (
            not all(_same(getattr(target, f), v) for f, v in row.values().items())
            or target.last_updated != row.taken_at
        ):
            for name, value in row.values().items():
                setattr(target, name, value)
            target.last_updated, target.source = row.taken_at, row.provider
            plan.changed_assets.append(target)
        if row.provider == Provider.COINMARKETCAP:
            plan.new_mappings.append((slug, row.provider, row.external_id))

    known = [t for t in matches.values() if not isinstance(t, str)]
    existing = {
        (s.asset_id, s.taken_at): s
        for s in MarketSnapshot.objects.filter(
            asset__in=known, taken_at__in={row.taken_at for row in unique}
        )
    }
    for row in unique:
        target = matches[_key(row)]
        old = (
            None if isinstance(target, str) else existing.get((target.pk, row.taken_at))
        )
        if old is None:
            plan.new_snapshots.append(
                MarketSnapshot(taken_at=row.taken_at, **row.values())
            )
            plan.new_snapshots[-1].slug = (
                target if isinstance(target, str) else target.slug
            )
        elif all(_same(getattr(old, f), v) for f, v in row.values().items()):
            plan.unchanged += 1
        else:
            for name, value in row.values().items():
                setattr(old, name, value)
            plan.changed_snapshots.append(old)
    return plan


@transaction.atomic
def apply_plan(plan: ImportPlan) -> None:
    """Write a plan in bulk: new assets, current values, mappings and snapshots."""
    # Tier and band written with the row, by the Python halves of the rules, so
    # the refresh below finds nothing left to rewrite in the asset table.
    for asset in (*plan.new_assets, *plan.changed_assets):
        cap = metrics.market_cap(asset.price, asset.circulating_supply)
        asset.tier = metrics.tier_for(cap)
        asset.liquidity = metrics.turnover_band(
            metrics.volume_to_market_cap(asset.volume_24h, cap)
        )
    Asset.objects.bulk_create(plan.new_assets, batch_size=500)
    Asset.objects.bulk_update(
        plan.changed_assets,
        ["source", "last_updated", "tier", "liquidity", *MARKET_FIELDS],
        batch_size=500,
    )
    slugs = {s.slug for s in plan.new_snapshots} | {m[0] for m in plan.new_mappings}
    ids = dict(Asset.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    ProviderId.objects.bulk_create(
        [
            ProviderId(asset_id=ids[s], provider=p, external_id=e)
            for s, p, e in plan.new_mappings
        ],
        ignore_conflicts=True,
    )
    for snapshot in plan.new_snapshots:
        snapshot.asset_id = ids[snapshot.slug]
    MarketSnapshot.objects.bulk_create(plan.new_snapshots, batch_size=500)
    MarketSnapshot.objects.bulk_update(
        plan.changed_snapshots, list(MARKET_FIELDS), batch_size=500
    )
    # Stored ranks, tiers, bands and totals follow, in this transaction; a file
    # that only adds history still bumps the version (its ETag changes).
    new_ids = Asset.objects.filter(
        slug__in=[a.slug for a in plan.new_assets]
    ).values_list("pk", flat=True)
    touched = [*new_ids, *(a.pk for a in plan.changed_assets)]
    if touched or plan.new_snapshots or plan.changed_snapshots or plan.new_mappings:
        refresh_market_state(asset_ids=touched, caps_changed=bool(touched))
    written = [*plan.new_snapshots, *plan.changed_snapshots]
    if written:
        announce_snapshots(
            asset_ids={s.asset_id for s in written},
            since=min(s.taken_at for s in written).astimezone(UTC).date(),
        )


def record_run(
    plan: ImportPlan,
    *,
    source: str,
    fmt: str,
    triggered_by: str,
    status: str,
    payload: str = "",
    started: datetime | None = None,
) -> ImportRun:
    """Store what an import did (or would do) for the admin's import list."""
    problems = plan.errors + plan.unmatched
    return ImportRun.objects.create(
        started=started or timezone.now(),
        source=source[:500],
        format=fmt,
        triggered_by=triggered_by[:150],
        status=status,
        finished=None if status == ImportRun.Status.PENDING else timezone.now(),
        rows=plan.rows,
        created=len(plan.new_snapshots),
        updated=len(plan.changed_snapshots),
        unchanged=plan.unchanged,
        skipped=plan.skipped,
        errors=[vars(e) for e in problems[:1000]],
        payload=payload,
    )
