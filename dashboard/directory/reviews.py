"""Reading a sync run held for review: what it would remove, per kind."""

from dataclasses import dataclass

from django.db.models import Count

from dashboard.directory.models import DirectoryState, EntryKind, SyncChange, SyncRun

#: Entries named on the review page per kind; the change list of the run has them all.
SAMPLE = 50


@dataclass(frozen=True)
class KindRemovals:
    kind: str
    label: str
    removed: int
    #: Entries of the kind visible now (before the run).
    visible: int
    sample: list[SyncChange]

    @property
    def percent(self) -> int:
        return self.removed * 100 // self.visible if self.visible else 100


def sync_review_removals(*, run: SyncRun, sample: int = SAMPLE) -> list[KindRemovals]:
    """Per kind with removals, in the order kinds are synced: how many, out of how many
    visible, and the first `sample` of them by name."""
    removed = SyncChange.objects.filter(run=run, action=SyncChange.Action.REMOVED)
    per_kind = dict(removed.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    state = DirectoryState.objects.filter(connection_id=run.connection_id).first()
    visible = (state.counts if state else {}) or {}
    return [
        KindRemovals(
            kind=kind,
            label=label,
            removed=per_kind[kind],
            visible=visible.get(kind, 0),
            sample=list(removed.filter(kind=kind).order_by("label", "external_id")[:sample]),
        )
        for kind, label in EntryKind.choices
        if per_kind.get(kind)
    ]
