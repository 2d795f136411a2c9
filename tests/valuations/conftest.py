"""The live-feed fixtures (tests.valuations.test_feed) for every market test here."""

from tests.valuations.test_feed import _own_lock_files, market_api  # noqa: F401
