from django.urls import path

from dashboard.connections import views

urlpatterns = [
    path("", views.connection_list, name="connection_list"),
    path("new/", views.connection_create, name="connection_create"),
    path("<uuid:connection_id>/", views.connection_detail, name="connection_detail"),
    path("<uuid:connection_id>/edit/", views.connection_edit, name="connection_edit"),
    path("<uuid:connection_id>/delete/", views.connection_delete, name="connection_delete"),
    path("<uuid:connection_id>/test/", views.connection_test, name="connection_test"),
    path(
        "<uuid:connection_id>/checks/<uuid:check_id>/",
        views.connection_check_status,
        name="connection_check_status",
    ),
    path("<uuid:connection_id>/sync/", views.connection_sync, name="connection_sync"),
    path(
        "<uuid:connection_id>/runs/<uuid:run_id>/",
        views.sync_run_progress,
        name="sync_run_progress",
    ),
    path(
        "<uuid:connection_id>/runs/<uuid:run_id>/cancel/",
        views.sync_run_cancel_view,
        name="sync_run_cancel",
    ),
]
