"""Named locks that keep two processes from running the same job at once."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper


@contextmanager
def exclusive(name: str, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[bool]:
    """Hold the lock called ``name`` for the block, without waiting for it.

    Yield True when this process got the lock and False when another process
    (or another thread) holds it. On PostgreSQL it is a session-level advisory
    lock, seen by every machine that uses the database; elsewhere it is an flock
    on a file next to the SQLite database, seen by the processes of one machine.
    The database or the OS releases either when the process dies, so a crash
    never leaves it held. Don't nest it for one name in one thread: PostgreSQL
    would grant it again.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with _advisory_lock(connection, name) as got:
            yield got
    else:
        with _file_lock(_lock_path(connection, name)) as got:
            yield got


def serialise_in_transaction(name: str, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Make writers of ``name`` wait for each other until this transaction ends.

    On PostgreSQL a transaction-level advisory lock, released at commit or
    rollback; SQLite already allows one writer at a time. For refreshes that
    delete and insert a range of stored days.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_advisory_key(name)])


def _advisory_key(name: str) -> int:
    """Return a signed 64-bit key for ``name``, the same in every process and run."""
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory_lock(connection: BaseDatabaseWrapper, name: str) -> Iterator[bool]:
    key = _advisory_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        got = bool(cursor.fetchone()[0])
    if not got:
        yield False
        return
    try:
        yield True
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        except DatabaseError:
            # The block broke the connection (or its transaction): ending the
            # session releases the lock as surely as unlocking it.
            connection.close()


def _lock_path(connection: BaseDatabaseWrapper, name: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "-", name)
    database = str(connection.settings_dict["NAME"] or "")
    on_disk = isinstance(connection, SQLiteWrapper) and not connection.is_in_memory_db()
    if database and on_disk:
        return Path(f"{database}-{safe}.lock")
    # Nothing on disk to sit next to: an in-memory test database, or a database
    # server without advisory locks (then only one machine's processes are seen).
    return Path(tempfile.gettempdir()) / f"capsite-{safe}.lock"


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    # flock belongs to this open file: another open() of the same file, in this
    # process or another, is refused until this one is closed. The file stays:
    # deleting it would let a second process lock a fresh file of the same name.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            got = True
        except BlockingIOError:
            got = False
        yield got
    finally:
        os.close(fd)  # closing the file releases the lock
