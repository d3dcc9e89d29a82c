import django_filters

from dashboard.tenants.activity import action_choices
from dashboard.tenants.models import Activity


class ActivityFilter(django_filters.FilterSet):
    actor = django_filters.ChoiceFilter(field_name="actor_label", label="Who", empty_label="Anyone")
    action = django_filters.ChoiceFilter(label="What", empty_label="Any action")

    class Meta:
        model = Activity
        fields = ["actor", "action"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        actors = self.queryset.order_by().values_list("actor_label", flat=True).distinct()
        self.filters["actor"].extra["choices"] = [(a, a) for a in sorted(set(actors))]
        self.filters["action"].extra["choices"] = action_choices()
