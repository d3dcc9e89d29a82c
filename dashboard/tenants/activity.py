"""Recording the activity log."""

from django.db import models
from django.http import HttpRequest

from dashboard.tenants.actions import ACTION_LABELS
from dashboard.tenants.models import Activity, Organization

__all__ = ["ACTION_LABELS", "action_choices", "activity_record", "client_ip"]


def activity_record(
    *,
    organization: Organization,
    actor: object | None,
    action: str,
    target: models.Model | None = None,
    target_label: str = "",
    details: dict | None = None,
    request: HttpRequest | None = None,
    ip_address: str | None = None,
) -> Activity:
    """Append one entry to the organisation's activity log. `ip_address` is for entries
    written later by a worker for a request it no longer has (else taken from `request`)."""
    if action not in ACTION_LABELS:
        raise ValueError(f"Unknown activity action {action!r}: add it to ACTION_LABELS.")
    return Activity.objects.create(
        organization=organization,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor) if actor is not None else "system",
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=target_label or (str(target) if target is not None else ""),
        details=details or {},
        ip_address=client_ip(request) if request is not None else ip_address,
    )


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites
    # it, and deployments behind a proxy set REMOTE_ADDR through their WSGI server.
    return request.META.get("REMOTE_ADDR") or None


def action_choices() -> list[tuple[str, str]]:
    return sorted(ACTION_LABELS.items(), key=lambda item: item[1])
