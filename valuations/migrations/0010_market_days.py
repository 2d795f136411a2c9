# Market history per UTC day (valuations.history). Written by hand to sit
# beside 0009; the lead merges the graph.

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("valuations", "0009_volatility"),
    ]

    operations = [
        migrations.CreateModel(
            name="MarketHistoryDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(unique=True)),
                ("market_cap", models.DecimalField(decimal_places=18, help_text="USD: total cap of the assets covered.", max_digits=60)),
                ("asset_count", models.PositiveIntegerField(default=0)),
                ("bitcoin_market_cap", models.DecimalField(blank=True, decimal_places=18, max_digits=60, null=True)),
                ("ethereum_market_cap", models.DecimalField(blank=True, decimal_places=18, max_digits=60, null=True)),
                ("large_market_cap", models.DecimalField(decimal_places=18, default=Decimal("0"), max_digits=60)),
                ("mid_market_cap", models.DecimalField(decimal_places=18, default=Decimal("0"), max_digits=60)),
                ("small_market_cap", models.DecimalField(decimal_places=18, default=Decimal("0"), max_digits=60)),
            ],
            options={
                "verbose_name": "market history day",
                "ordering": ["day"],
            },
        ),
    ]
