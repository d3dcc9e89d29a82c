from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "dashboard.tenants"
    label = "tenants"
    verbose_name = "Organisations"
