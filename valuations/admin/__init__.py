"""Valuations admin: data entry for assets and market-data imports."""

from valuations.admin import assets, imports, unlocks  # noqa: F401  (registers the ModelAdmins)
