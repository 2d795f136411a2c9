"""Report how far the stored market data agrees with what its providers published."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from valuations import metrics, quality
from valuations.choices import QualityFlag
from valuations.models import Asset


class Command(BaseCommand):
    help = (
        "Count the assets whose market cap agrees with the provider's published "
        "cap, the assets carrying each data-quality flag (each cap_mismatch with "
        "both values) and the assets marked thin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--within",
            type=Decimal,
            default=Decimal("0.005"),
            help="Agreement tolerance as a fraction (default 0.005, i.e. 0.5 %%).",
        )

    def handle(self, *args: Any, within: Decimal, **options: Any) -> None:
        now = timezone.now()
        assets = list(
            Asset.objects.order_by("slug").values(
                "slug",
                "market_cap",
                "provider_market_cap",
                "volume_24h",
                "quality_flags",
                "last_updated",
            )
        )
        published = [a for a in assets if a["provider_market_cap"]]
        agree = [
            a
            for a in published
            if a["market_cap"]
            and abs(a["provider_market_cap"] - a["market_cap"])
            <= a["market_cap"] * within
        ]
        self.stdout.write(
            f"{len(assets)} assets, {len(published)} with a published cap; "
            f"{len(agree)} agree within {within * 100:f} %."
        )
        for flag in QualityFlag:
            condition = quality.flag_condition(flag, now)
            assert condition is not None
            slugs = list(
                Asset.objects.filter(condition)
                .order_by("slug")
                .values_list("slug", flat=True)
            )
            named = f" ({', '.join(slugs)})" if 0 < len(slugs) <= 20 else ""
            self.stdout.write(f"{flag}: {len(slugs)}{named}")
        for a in assets:
            if QualityFlag.CAP_MISMATCH in a["quality_flags"].split():
                cap, published_cap = a["market_cap"], a["provider_market_cap"]
                gap = (
                    f"{(published_cap - cap) / cap * 100:+.1f} %"
                    if cap
                    else "no cap of ours"
                )
                self.stdout.write(
                    f"  cap_mismatch {a['slug']}: provider {published_cap:,.0f}, "
                    f"price × circulating {cap or 0:,.0f} ({gap})"
                )
        thin = Asset.objects.filter(metrics.thin_market_condition()).count()
        self.stdout.write(f"thin market: {thin} of {len(assets)}")
