"""One way of writing dates and times on every page: "2 Dec 2026" and "2 Dec 2026, 14:05".

Django's en-GB times read "2:05 p.m.", which ends a sentence with a second full stop; the
24-hour clock has none, and sorts as it reads.
"""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
