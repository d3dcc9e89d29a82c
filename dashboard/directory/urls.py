"""Directory pages, included under orgs/<uuid:org_id>/."""

from django.urls import path, register_converter

from dashboard.directory import review_views, views
from dashboard.directory.converters import ExternalIdConverter

register_converter(ExternalIdConverter, "external_id")

urlpatterns = [
    path("directory/<str:kind>/", views.directory_list, name="directory_list"),
    path(
        "connections/<uuid:connection_id>/directory/<str:kind>/",
        views.connection_directory_list,
        name="connection_directory_list",
    ),
    path(
        "connections/<uuid:connection_id>/directory/<str:kind>/<external_id:external_id>/",
        views.directory_entry_detail,
        name="directory_entry_detail",
    ),
    path(
        "connections/<uuid:connection_id>/changes/",
        views.connection_changes,
        name="connection_changes",
    ),
    path("runs/<uuid:run_id>/changes/", views.sync_run_changes, name="sync_run_changes"),
    path("runs/<uuid:run_id>/review/", review_views.sync_run_review, name="sync_run_review"),
    path(
        "runs/<uuid:run_id>/review/apply/",
        review_views.sync_run_review_apply,
        name="sync_run_review_apply",
    ),
    path(
        "runs/<uuid:run_id>/review/discard/",
        review_views.sync_run_review_discard,
        name="sync_run_review_discard",
    ),
]
