"""Audit report URLs; included at the site root, so every path is spelled out whole."""

from django.urls import path

from dashboard.reports import digest_views, views

app_name = "reports"

_CONNECTION = "orgs/<uuid:org_id>/connections/<uuid:connection_id>/report/"
_FINDING = "orgs/<uuid:org_id>/reports/findings/<int:finding_id>/"

urlpatterns = [
    path("reports/", views.rollup, name="rollup"),
    path("reports/rules/<str:rule_id>/", views.rule_detail, name="rule"),
    path("orgs/<uuid:org_id>/reports/", views.organization_report, name="organization"),
    path(_FINDING, views.finding_detail, name="finding"),
    path(f"{_FINDING}acknowledge/", views.finding_acknowledge, name="finding_acknowledge"),
    path(f"{_FINDING}reopen/", views.finding_reopen, name="finding_reopen"),
    path(_CONNECTION, views.connection_report, name="connection"),
    path(f"{_CONNECTION}rerun/", views.audit_rerun, name="audit_rerun"),
    path(f"{_CONNECTION}runs/<uuid:run_id>/", views.audit_run, name="audit_run"),
    path(
        "orgs/<uuid:org_id>/reports/digest/",
        digest_views.digest_settings,
        name="digest_settings",
    ),
    path("reports/digest/", digest_views.provider_digest_settings, name="provider_digest_settings"),
]
