"""Audit report URLs; included at the site root, so every path is spelled out whole."""

from django.urls import path  # noqa: F401

app_name = "reports"

urlpatterns: list = []
