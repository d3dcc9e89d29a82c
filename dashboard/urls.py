from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("dashboard.tenants.urls")),
    path("orgs/<uuid:org_id>/connections/", include("dashboard.connections.urls")),
    path("orgs/<uuid:org_id>/", include("dashboard.directory.urls")),
    path(
        "orgs/<uuid:org_id>/connections/<uuid:connection_id>/storage/",
        include("dashboard.storage.urls"),
    ),
    path(
        "orgs/<uuid:org_id>/connections/<uuid:connection_id>/console/",
        include("dashboard.console.urls"),
    ),
    path("", include("dashboard.reports.urls")),
    path("exports/", include("dashboard.exports.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
