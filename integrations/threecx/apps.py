from django.apps import AppConfig


class ThreeCXConfig(AppConfig):
    name = "integrations.threecx"
    label = "threecx"
    verbose_name = "3CX integration"
