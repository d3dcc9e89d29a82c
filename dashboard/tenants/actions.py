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
    "directory.sync_started": "Started a directory sync",
    "directory.sync_cancelled": "Cancelled a directory sync",
}
