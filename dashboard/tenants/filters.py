import django_filters

from dashboard.tenants.activity import action_choices
from dashboard.tenants.models import Activity


class ActivityFilter(django_filters.FilterSet):
    """Who did what. A value that is not in the lists (hand-typed or hostile) is ignored, with
    a message next to its field; the list stays unfiltered by it."""

    actor = django_filters.ChoiceFilter(
        field_name="actor_label",
        label="Who",
        empty_label="Anyone",
        error_messages={
            "invalid_choice": "“%(value)s” is not someone in this log: pick a name from the list."
        },
    )
    action = django_filters.ChoiceFilter(
        label="What",
        empty_label="Any action",
        error_messages={
            "invalid_choice": "“%(value)s” is not an action of this log: pick one from the list."
        },
    )

    class Meta:
        model = Activity
        fields = ["actor", "action"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        actors = self.queryset.order_by().values_list("actor_label", flat=True).distinct()
        self.filters["actor"].extra["choices"] = [(a, a) for a in sorted(set(actors))]
        self.filters["action"].extra["choices"] = action_choices()
