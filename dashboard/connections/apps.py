from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "dashboard.connections"
    label = "connections"
    verbose_name = "3CX connections (pages)"

    def ready(self) -> None:
        from dashboard.connections.exports import CONNECTIONS
        from dashboard.exports.sources import export_source_register

        export_source_register(CONNECTIONS)
