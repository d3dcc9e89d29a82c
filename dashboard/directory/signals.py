"""What the directory tells the apps built on it, without importing them."""

from django.dispatch import Signal

#: A connection's visible directory switched to a new generation: a sync succeeded, or a sync
#: held for review was applied. Sent once the switch has committed, with `connection` (the
#: ThreeCXConnection) and `generation`. The audit reports listen (dashboard.reports.apps).
directory_switched = Signal()
