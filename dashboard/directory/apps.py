from django.apps import AppConfig
from django.db.backends.signals import connection_created


class DirectoryConfig(AppConfig):
    name = "dashboard.directory"
    label = "directory"
    verbose_name = "3CX directory"

    def ready(self) -> None:
        from dashboard.directory.exports import export_sources_register
        from dashboard.directory.search import sqlite_function_register

        export_sources_register()
        connection_created.connect(sqlite_function_register, dispatch_uid="directory_unaccent")
