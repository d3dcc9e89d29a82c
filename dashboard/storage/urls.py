from django.urls import path

from dashboard.storage import views

urlpatterns = [
    path("", views.storage_browser, name="storage_browser"),
    path("browse/", views.storage_browse, name="storage_browse"),
    path("browse/advanced/", views.storage_browse_advanced, name="storage_browse_advanced"),
    path("browses/<uuid:browse_id>/", views.storage_browse_status, name="storage_browse_status"),
]
