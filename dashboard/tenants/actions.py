"""Every action the activity log knows, with the label people read. Features add theirs here."""

ACTION_LABELS: dict[str, str] = {
    "user.signed_in": "Signed in",
    "organization.created": "Created the organisation",
    "organization.updated": "Changed organisation settings",
    "member.invited": "Invited a member",
    "member.invitation_revoked": "Revoked an invitation",
    "member.joined": "Joined",
    "member.role_changed": "Changed a member's role",
    "member.removed": "Removed a member",
    "connection.created": "Added a 3CX connection",
    "connection.updated": "Changed a 3CX connection",
    "connection.deleted": "Deleted a 3CX connection",
    "connection.tested": "Tested a 3CX connection",
    "storage.browsed": "Browsed a connection's storage",
    "directory.sync_started": "Started a directory sync",
    "directory.sync_started_confirmed": "Started a directory sync, removals confirmed",
    "directory.sync_cancel_requested": "Asked a directory sync to stop",
    "directory.sync_cancelled": "Cancelled a directory sync",
    "directory.sync_held_for_review": "Held a directory sync for review of its removals",
    "directory.sync_review_applied": "Applied a directory sync held for review",
    "directory.sync_review_discarded": "Discarded a directory sync held for review",
}
