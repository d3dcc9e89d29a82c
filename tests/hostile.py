"""Query strings nobody types on purpose: what listings must answer without a server error.

Each value goes into every parameter of a listing at once (unknown ones included), so one
request tries it as a search, a filter choice, a sort key, a page number and a page size.
"""

from urllib.parse import quote

#: (name, value) pairs; the name is the test id.
HOSTILE_VALUES: list[tuple[str, str]] = [
    ("very-long", "x" * 5_000),
    ("983-words", " ".join(f"w{i}" for i in range(983))),
    ("1000-words", " ".join(["ada"] * 1000)),
    ("nul", "Ada\x00Lovelace"),
    ("control-characters", "\x01\x07\x08\x1b[31m\x7f\x9f"),
    ("line-breaks", "Ada\r\nLovelace\u2028"),
    ("unicode", "Zoë 王 😀 \u202etxt.exe \ufeff\u200b"),
    ("combining-marks", "a" + "\u0301" * 500),
    ("like-wildcards", "%_\\%\\_%%"),
    ("quotes", "' OR 1=1 -- \" ; DROP TABLE x"),
    ("markup", "<script>alert(1)</script>"),
    ("negative", "-1"),
    ("huge-negative", "-99999999999999999999999999999"),
    ("huge", "99999999999999999999999999999999999999"),
    ("float", "1e309"),
    ("nan", "NaN"),
    ("zero", "0"),
    ("malformed-date", "2026-13-45"),
    ("malformed-datetime", "0000-00-00T25:61:61+99:99"),
    ("empty", ""),
    ("json", '{"a": [1, {"b": null}]}'),
    ("uuid-like", "00000000-0000-0000-0000-000000000000"),
]

#: The values most likely to break something, for tests that try them one parameter at a time.
SHARPEST = (
    "very-long",
    "983-words",
    "nul",
    "control-characters",
    "unicode",
    "huge-negative",
    "huge",
    "float",
    "malformed-date",
    "markup",
)

#: Every parameter any listing reads, and one that none does.
PARAMETERS = (
    "q",
    "company",
    "connection",
    "department",
    "enabled",
    "registered",
    "has_email",
    "require_2fa",
    "admin",
    "entry_type",
    "missing",
    "online",
    "sort",
    "per_page",
    "page",
    "kind",
    "action",
    "actor",
    "since",
    "filesystem",
    "path",
    "root",
)

#: Query strings the test client cannot build from text: invalid UTF-8, a lone surrogate,
#: an encoded NUL, and parameters repeated many times.
RAW_QUERY_STRINGS: list[tuple[str, str]] = [
    ("invalid-utf-8", "q=%FF%FE%FD&sort=%C0%AF&page=%80"),
    ("lone-surrogate", "q=%ED%A0%80&department=%ED%BF%BF"),
    ("encoded-nul", "q=%00&company=a%00b&page=%00&per_page=%00&sort=%00&connection=%00"),
    ("repeated", "&".join(f"{name}=a&{name}=-1" for name in PARAMETERS)),
    ("repeated-search", "&".join(f"q={quote('word ' * 20)}" for _ in range(200))),
    ("no-values", "&".join(PARAMETERS)),
    ("empty-names", "=&==&=a&&&"),
]


def everywhere(value: str) -> dict[str, str]:
    """`value` in every parameter."""
    return dict.fromkeys(PARAMETERS, value)
