"""Directory pages, included under orgs/<uuid:org_id>/."""

from django.urls import path

from dashboard.directory import views

urlpatterns = [
    path("directory/<str:kind>/", views.directory_list, name="directory_list"),
    path(
        "connections/<uuid:connection_id>/directory/<str:kind>/",
        views.connection_directory_list,
        name="connection_directory_list",
    ),
    path(
        "connections/<uuid:connection_id>/directory/<str:kind>/<int:external_id>/",
        views.directory_entry_detail,
        name="directory_entry_detail",
    ),
    path(
        "connections/<uuid:connection_id>/changes/",
        views.connection_changes,
        name="connection_changes",
    ),
    path("runs/<uuid:run_id>/changes/", views.sync_run_changes, name="sync_run_changes"),
]
