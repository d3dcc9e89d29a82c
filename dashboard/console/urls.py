from django.urls import path

from dashboard.console import views

urlpatterns = [
    path("", views.console_catalogue, name="console_catalogue"),
    path("history/", views.console_history, name="console_history"),
    path("operations/<str:operation_id>/", views.console_operation, name="console_operation"),
    path("operations/<str:operation_id>/run/", views.console_run, name="console_run"),
    path("operations/<str:operation_id>/confirm/", views.console_confirm, name="console_confirm"),
    path("calls/<uuid:call_id>/", views.console_call, name="console_call"),
    path(
        "calls/<uuid:call_id>/download/",
        views.console_call_download,
        name="console_call_download",
    ),
]
