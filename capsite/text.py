"""Text from files, feeds and forms: what may be stored and shown."""

from __future__ import annotations

import re

# C0 and C1 control characters (NUL, newlines and tabs included: none belongs in
# a name, a symbol or an id) and lone surrogates, which no UTF-8 database stores.
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def unstorable_character(text: str) -> str | None:
    """Return why ``text`` cannot be stored as a one-line name, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return f"Contains the control character U+{ord(found.group()):04X}."


def text_problem(text: str, limit: int) -> str | None:
    """Return why ``text`` cannot be stored in a field of ``limit`` characters
    (too long, or with a control character), or None when it can."""
    if len(text) > limit:
        return f"Longer than {limit} characters."
    return unstorable_character(text)


def shown(value: object, limit: int = 40) -> str:
    """A value echoed in an error message: cut to ``limit`` characters, and with
    each control character written as an escape (\\u0000), so the message itself
    can be stored and shown."""
    text = str(value)
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", cut)
