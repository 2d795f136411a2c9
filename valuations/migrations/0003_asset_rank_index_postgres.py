"""On PostgreSQL, index market cap in the order the market table sorts it.

PostgreSQL puts NULLs first in a DESC index, while the table lists unknown caps
last (NULLS LAST), so the portable index in 0001 cannot serve that sort there.
SQLite already sorts NULLs last in DESC order and cannot declare NULLS LAST in
an index, so this runs on PostgreSQL only.
"""

from django.db import migrations

INDEX = "asset_cap_rank_nulls_last_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON valuations_asset "
            "(market_cap DESC NULLS LAST, slug)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("valuations", "0002_provider_ids_and_import_runs")]

    operations = [migrations.RunPython(create, drop)]
