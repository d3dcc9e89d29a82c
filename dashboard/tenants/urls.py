from django.urls import path

from dashboard.tenants import views

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/", views.organization_list, name="organization_list"),
    path("orgs/new/", views.organization_create, name="organization_create"),
    path("orgs/<uuid:org_id>/", views.organization_home, name="organization_home"),
    path("orgs/<uuid:org_id>/settings/", views.organization_settings, name="organization_settings"),
    path("orgs/<uuid:org_id>/members/", views.member_list, name="member_list"),
    path(
        "orgs/<uuid:org_id>/members/<uuid:membership_id>/role/",
        views.member_role_change,
        name="member_role_change",
    ),
    path(
        "orgs/<uuid:org_id>/members/<uuid:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "orgs/<uuid:org_id>/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("orgs/<uuid:org_id>/activity/", views.activity_list, name="activity_list"),
    # Tokens are URL-safe base64, a slug; anything else (NUL included) never reaches the database.
    path("invitations/<slug:token>/", views.invitation_accept, name="invitation_accept"),
]
