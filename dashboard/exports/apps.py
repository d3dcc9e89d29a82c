from django.apps import AppConfig


class ExportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "dashboard.exports"
    label = "exports"
    verbose_name = "Exports"

    def ready(self) -> None:
        # The tenants app is the base the others build on and imports none of them, so its
        # tables are described here; the apps above register their own.
        from dashboard.exports.sources import export_source_register
        from dashboard.exports.tenants import ACTIVITY, MEMBERS

        export_source_register(ACTIVITY)
        export_source_register(MEMBERS)
