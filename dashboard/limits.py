"""Per-minute limits on questions that make a PBX work (storage browses, XAPI calls).

Counted in the shared cache, so that every web process counts together.
"""

import time

from django.core.cache import cache

#: The window the per-minute limits count in.
WINDOW_SECONDS = 60


def per_minute_counted(kind: str, subject: str, limit: int) -> bool:
    """Count one `kind` question by `subject` ("user:<id>", "connection:<id>") in this
    minute's window; False once over `limit`."""
    window = int(time.time() // WINDOW_SECONDS)
    key = f"{kind}-limit:{subject}:{window}"
    cache.add(key, 0, timeout=WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS * 2)
        count = 1
    return count <= limit
