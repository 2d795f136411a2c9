"""Apply parsed market rows: match assets across providers, then upsert in bulk.

Everything is read in a fixed number of queries and written in bulk statements,
inside one transaction: a file is applied whole or not at all.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from capsite.text import shown
from valuations import metrics
from valuations.imports.formats import (
    MARKET_FIELDS,
    PROVIDER_FIELDS,
    MarketRow,
    RowError,
)
from valuations.models import Asset, ImportRun, MarketSnapshot, Provider, ProviderId
from valuations.signals import announce_snapshots
from valuations.state import refresh_market_state

# SQLite keeps about 15 significant digits (a float read back through Django):
# compare within that, so re-importing a file finds its rows unchanged rather
# than "updated" by float noise. PostgreSQL compares exactly.
_SQLITE_TOLERANCE = Decimal("1e-14")


# Identity rule 3 (PRODUCT.md): a same-symbol, same-name asset is the row's coin
# only if its price within this long of the row's time is within ±50 % of it.
PLAUSIBLE_WITHIN = timedelta(days=3)
PLAUSIBLE_SHARE = Decimal("0.5")


@dataclass(frozen=True)
class Candidate:
    """An asset a waiting row might be, with its price nearest the row's time."""

    asset: Asset
    price: Decimal | None  # None: no price within PLAUSIBLE_WITHIN of the row
    priced_at: datetime | None


@dataclass
class ImportPlan:
    """What a file would change, computed without writing anything."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    # One error per coin that waits for staff to map it, and its candidates.
    unmatched: list[RowError] = field(default_factory=list)
    candidates: dict[str, list[Candidate]] = field(default_factory=dict)
    waiting_rows: int = 0
    new_assets: list[Asset] = field(default_factory=list)
    changed_assets: list[Asset] = field(default_factory=list)
    new_mappings: list[tuple[str, str, str]] = field(default_factory=list)
    new_snapshots: list[MarketSnapshot] = field(default_factory=list)
    changed_snapshots: list[MarketSnapshot] = field(default_factory=list)
    unchanged: int = 0

    @property
    def skipped(self) -> int:
        """Bad rows: reported and not applied (rows waiting are counted apart)."""
        return len({e.position for e in self.errors})


def _same(a: Decimal | int | None, b: Decimal | int | None) -> bool:
    if a is None or b is None:
        return a is b
    x, y = Decimal(a), Decimal(b)
    if connection.vendor == "sqlite":
        return abs(x - y) <= max(abs(x), abs(y)) * _SQLITE_TOLERANCE
    return x == y


def _key(row: MarketRow) -> tuple[str, str]:
    return (row.provider, row.external_id)


def _prices_near(
    assets: list[Asset], rows: list[MarketRow]
) -> dict[int, list[tuple[datetime, Decimal]]]:
    """Each asset's known prices within PLAUSIBLE_WITHIN of any of the rows, in one
    query: its snapshots, and its current price at its last update."""
    points: dict[int, list[tuple[datetime, Decimal]]] = defaultdict(list)
    if not assets or not rows:
        return points
    for asset in assets:
        if asset.price is not None and asset.last_updated is not None:
            points[asset.pk].append((asset.last_updated, asset.price))
    times = [row.taken_at for row in rows]
    for asset_id, taken_at, price in MarketSnapshot.objects.filter(
        asset__in=assets,
        taken_at__gte=min(times) - PLAUSIBLE_WITHIN,
        taken_at__lte=max(times) + PLAUSIBLE_WITHIN,
        price__isnull=False,
    ).values_list("asset_id", "taken_at", "price"):
        points[asset_id].append((taken_at, price))
    return points


def _candidate(
    asset: Asset, row: MarketRow, points: dict[int, list[tuple[datetime, Decimal]]]
) -> Candidate:
    near = [
        (abs(when - row.taken_at), when, price)
        for when, price in points.get(asset.pk, [])
        if abs(when - row.taken_at) <= PLAUSIBLE_WITHIN
    ]
    if not near:
        return Candidate(asset, None, None)
    _, when, price = min(near, key=lambda item: item[0])
    return Candidate(asset, price, when)


def _plausible(candidate: Candidate, row: MarketRow) -> bool:
    """Rule 3's price check: within ±50 % of the row's price, near its time."""
    if candidate.price is None or row.price is None:
        return False
    return abs(candidate.price - row.price) <= row.price * PLAUSIBLE_SHARE


@dataclass
class _Matches:
    targets: dict[tuple[str, str], Asset | str] = field(default_factory=dict)
    recorded: set[tuple[str, str]] = field(default_factory=set)  # by rule 1
    waiting: dict[tuple[str, str], tuple[str, list[Candidate]]] = field(
        default_factory=dict
    )


def _match(rows: list[MarketRow]) -> _Matches:
    """Find each provider id's asset (or the slug of a new asset) by PRODUCT.md's
    identity rules, in a fixed number of queries.

    CSV ids are capsite's own slugs. A provider's row is an existing asset only
    through (1) its recorded provider id, (2) the same slug and symbol, or (3)
    the one asset with its symbol and name whose price near the row's time is
    within ±50 % of the row's. Otherwise a coin whose symbol no asset has is a
    new asset; the rest waits for staff to map it, with its candidates.
    """
    newest: dict[tuple[str, str], MarketRow] = {}
    for row in rows:
        key = _key(row)
        if key not in newest or row.taken_at > newest[key].taken_at:
            newest[key] = row
    matches = _Matches()
    provided = [k for k in newest if k[0] != Provider.CSV]
    if provided:
        matches.targets.update(
            ((p.provider, p.external_id), p.asset)
            for p in ProviderId.objects.filter(
                external_id__in={k[1] for k in provided},
                provider__in={k[0] for k in provided},
            ).select_related("asset")
        )
        matches.recorded = set(matches.targets)
    own = {k[1] for k in newest if k[0] == Provider.CSV}
    by_own_slug = Asset.objects.in_bulk(own, field_name="slug") if own else {}
    pending = [
        r
        for k, r in newest.items()
        if k[0] != Provider.CSV and k not in matches.targets
    ]
    by_slug: dict[str, Asset] = {}
    by_symbol: dict[str, list[Asset]] = defaultdict(list)
    by_name: dict[str, list[Asset]] = defaultdict(list)
    points: dict[int, list[tuple[datetime, Decimal]]] = {}
    if pending:
        symbols = {r.symbol.casefold() for r in pending}
        names = {r.name.casefold() for r in pending}
        slugs = {r.slug_hint for r in pending}
        found = Asset.objects.annotate(
            lower_symbol=Lower("symbol"), lower_name=Lower("name")
        ).filter(
            Q(slug__in=slugs) | Q(lower_symbol__in=symbols) | Q(lower_name__in=names)
        )
        for asset in found:
            by_slug[asset.slug] = asset
            by_symbol[asset.symbol.casefold()].append(asset)
            by_name[asset.name.casefold()].append(asset)
        points = _prices_near(list({a.pk: a for a in found}.values()), pending)
    claimed: set[str] = set()
    for key, row in newest.items():
        if key in matches.targets:
            continue
        if key[0] == Provider.CSV:
            matches.targets[key] = by_own_slug.get(row.external_id) or row.external_id
            continue
        same_slug = by_slug.get(row.slug_hint) if row.slug_hint in by_slug else None
        if (
            same_slug is not None
            and same_slug.symbol.casefold() == row.symbol.casefold()
        ):
            matches.targets[key] = same_slug  # rule 2
            continue
        same_symbol = by_symbol.get(row.symbol.casefold(), [])
        named = [a for a in same_symbol if a.name.casefold() == row.name.casefold()]
        if len(named) == 1 and _plausible(_candidate(named[0], row, points), row):
            matches.targets[key] = named[0]  # rule 3
            continue
        if not same_symbol and same_slug is None and row.slug_hint not in claimed:
            claimed.add(row.slug_hint)
            matches.targets[key] = row.slug_hint  # a new coin
            continue
        candidates = {
            a.pk: a
            for a in (
                *([same_slug] if same_slug else []),
                *same_symbol,
                *by_name.get(row.name.casefold(), []),
            )
        }
        matches.waiting[key] = (
            _why_waiting(row, same_slug, same_symbol, named, points),
            [_candidate(a, row, points) for a in candidates.values()],
        )
    return matches


def _shown(price: Decimal | None) -> str:
    """A price in a message: six significant digits are enough to compare."""
    return "?" if price is None else f"{float(price):,.6g}"


def _why_waiting(
    row: MarketRow,
    same_slug: Asset | None,
    same_symbol: list[Asset],
    named: list[Asset],
    points: dict[int, list[tuple[datetime, Decimal]]],
) -> str:
    coin = (
        f"{Provider(row.provider).label} {row.external_id} ({row.symbol} “{row.name}”)"
    )
    if len(named) == 1:
        near = _candidate(named[0], row, points)
        day = f"{row.taken_at:%Y-%m-%d}"
        if near.price is None or near.priced_at is None:
            reason = (
                f"{named[0].slug} has its symbol and name but no price within "
                f"3 days of {day} to compare"
            )
        else:
            reason = (
                f"{named[0].slug} has its symbol and name but its price "
                f"(${_shown(near.price)} on {near.priced_at:%Y-%m-%d}) is not within "
                f"±50 % of ${_shown(row.price)}"
            )
    elif named:
        reason = f"{', '.join(a.slug for a in named)} all have its symbol and name"
    elif same_symbol:
        reason = f"its symbol belongs to {', '.join(a.slug for a in same_symbol)}, named otherwise"
    elif same_slug is not None:
        reason = f"its id {row.slug_hint} is {same_slug}, with another symbol"
    else:
        reason = f"another coin in this file is becoming {row.slug_hint}"
    return f"{coin} waits for mapping: {reason}. Map it in the admin."


def plan_import(rows: list[MarketRow], errors: list[RowError]) -> ImportPlan:
    """Classify every good row as a new, changed or unchanged snapshot, and find the
    current values to update (an older row never overwrites newer values)."""
    plan = ImportPlan(
        rows=len(rows) + len({e.position for e in errors}), errors=list(errors)
    )
    found = _match(rows)
    matches = found.targets
    waiting_rows: dict[tuple[str, str], list[MarketRow]] = defaultdict(list)
    for row in rows:
        if _key(row) in found.waiting:
            waiting_rows[_key(row)].append(row)
    for key, (message, candidates) in found.waiting.items():
        first = waiting_rows[key][0]
        more = len(waiting_rows[key]) - 1
        suffix = (
            f" ({more} more row{'s' if more != 1 else ''} of it wait too.)"
            if more
            else ""
        )
        plan.unmatched.append(RowError(first.position, "id", message + suffix))
        plan.candidates[first.position] = candidates
        plan.waiting_rows += len(waiting_rows[key])
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
            asset = Asset(
                slug=slug,
                symbol=row.symbol,
                name=row.name,
                source=row.provider,
                last_updated=row.taken_at,
                **row.values(),
            )
            asset.quality_flags = asset.flags_for(supply_unknown=row.supply_unknown)
            plan.new_assets.append(asset)
        elif (target.last_updated is None or target.last_updated <= row.taken_at) and (
            not all(_same(getattr(target, f), v) for f, v in row.values().items())
            or target.last_updated != row.taken_at
            or target.quality_flags
            != target.flags_for(supply_unknown=row.supply_unknown)
        ):
            for name, value in row.values().items():
                setattr(target, name, value)
            target.last_updated, target.source = row.taken_at, row.provider
            target.quality_flags = target.flags_for(supply_unknown=row.supply_unknown)
            plan.changed_assets.append(target)
        if row.provider != Provider.CSV and _key(row) not in found.recorded:
            # Recorded, so the next file from this provider matches by rule 1.
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
        [
            "source",
            "last_updated",
            "tier",
            "liquidity",
            "quality_flags",
            *MARKET_FIELDS,
            *PROVIDER_FIELDS,
        ],
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
        plan.changed_snapshots, [*MARKET_FIELDS, *PROVIDER_FIELDS], batch_size=500
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


def stored_error(error: RowError) -> dict[str, str]:
    """A row error as an import run keeps it: text any database can store."""
    return {
        "position": shown(error.position, 100),
        "field": shown(error.field, 100),
        "message": shown(error.message, 1000),
    }


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
        waiting=plan.waiting_rows,
        started=started or timezone.now(),
        source=shown(source, 499),
        format=fmt,
        triggered_by=triggered_by[:150],
        status=status,
        finished=None if status == ImportRun.Status.PENDING else timezone.now(),
        rows=plan.rows,
        created=len(plan.new_snapshots),
        updated=len(plan.changed_snapshots),
        unchanged=plan.unchanged,
        skipped=plan.skipped,
        errors=[stored_error(e) for e in problems[:1000]],
        payload=payload,
    )
