"""SQLite, the embedded default, holds under several gunicorn workers (issue 13):
write-ahead logging, BEGIN IMMEDIATE and a busy timeout, so a second writer
waits its turn instead of failing with "database is locked"."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from django.db import connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper

pytestmark = pytest.mark.skipif(
    connections["default"].vendor != "sqlite", reason="SQLite settings only"
)


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker):
    # Connections of the test's own, to its own files: not the test database.
    with django_db_blocker.unblock():
        yield


def _connect(path: Path) -> DatabaseWrapper:
    """A connection as the site opens one, to a database file (the test
    database lives in memory, where there is no journal to set)."""
    settings = {**connections.databases["default"], "NAME": str(path)}
    return DatabaseWrapper(settings, alias=f"probe-{threading.get_ident()}")


def test_a_file_database_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    db = _connect(tmp_path / "site.sqlite3")
    with db.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        busy = cursor.fetchone()[0]
    db.close()

    assert journal == "wal"
    assert busy == 20_000


def test_a_second_writer_waits_for_the_first_instead_of_failing(tmp_path):
    """Two requests that each read, then write, in a transaction (a sell checks
    the holding, then records): without BEGIN IMMEDIATE the second cannot
    upgrade its read lock while the first commits, and SQLite fails one at once.
    """
    path = tmp_path / "site.sqlite3"
    setup = _connect(path)
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE ledger (n INTEGER)")
    setup.close()
    failures: list[BaseException] = []
    first_wrote, second_read = threading.Event(), threading.Event()

    def write(n: int, first: bool) -> None:
        alias = f"probe-{n}"
        connections[alias] = db = _connect(path)
        try:
            with transaction.atomic(using=alias), db.cursor() as cursor:
                if not first:
                    first_wrote.wait(5)
                cursor.execute("SELECT COUNT(*) FROM ledger")
                if not first:
                    second_read.set()
                cursor.execute("INSERT INTO ledger VALUES (%s)", [n])
                if first:
                    first_wrote.set()
                    second_read.wait(1)
                    time.sleep(0.2)
        except BaseException as exc:  # noqa: BLE001 - collected for the assert
            failures.append(exc)
        finally:
            db.close()
            del connections[alias]

    threads = [threading.Thread(target=write, args=(n, n == 1)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    check = _connect(path)
    with check.cursor() as cursor:
        cursor.execute("SELECT n FROM ledger ORDER BY n")
        assert [row[0] for row in cursor.fetchall()] == [1, 2]
    check.close()
