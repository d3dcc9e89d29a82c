from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "dashboard.console"
    label = "console"
    verbose_name = "XAPI console"
