"""Accent-insensitive search: "muller" finds "Müller", "senor" finds "Señor".

Searched columns go through the database function `directory_unaccent` and search words
through `text_unaccent`. On PostgreSQL the function wraps the `unaccent` extension (migration
0005, which also indexes it); SQLite has no such extension, so `text_unaccent` itself is
registered there on every connection.
"""

import unicodedata
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

FUNCTION = "directory_unaccent"
_CYRILLIC_START, _CYRILLIC_END = "\u0400", "\u04ff"
#: Ё and ё, decomposed: the only Cyrillic letters PostgreSQL's unaccent changes (it drops the dots).
_CYRILLIC_YO = ("\u0415\u0308", "\u0435\u0308")

#: Letters that carry their accent in the letter itself rather than as a combining mark;
#: PostgreSQL's unaccent rules map them the same way.
_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "þ": "th",
        "Þ": "TH",
        "\u0131": "i",  # dotless i
    }
)


def text_unaccent(text: str | None) -> str | None:
    """`text` without the accents of Latin and Greek letters and Cyrillic Ё, as PostgreSQL's
    unaccent rules take them off.

    Only combining diacritical marks (U+0300-U+036F) are dropped, and none from other
    Cyrillic letters (Й is a letter of its own): Japanese sound marks, Hangul syllables and
    Й come back as they were, as PostgreSQL leaves them.
    """
    if text is None:
        return None
    kept = []
    base = ""
    for char in unicodedata.normalize("NFD", text.translate(_LETTERS)):
        if not "\u0300" <= char <= "\u036f":
            base = char
        elif not _CYRILLIC_START <= base <= _CYRILLIC_END or base + char in _CYRILLIC_YO:
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def sqlite_function_register(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver: give SQLite connections `directory_unaccent`."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(FUNCTION, 1, text_unaccent, deterministic=True)
