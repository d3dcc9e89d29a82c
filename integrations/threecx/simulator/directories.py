"""The folder trees behind GetDirectoryInfo (the backup and recording location pickers).

One fixed tree per Pbx.FileSystemType. Answers carry full paths, separated by "/", the way
3CX on Linux shows them. Names include spaces, accents and CJK on purpose.
"""

from __future__ import annotations

from functools import cache

from integrations.threecx.spec import enum_values

_INSTANCE = "/var/lib/3cxpbx/Instance1/Data"
_TREES: dict[str, tuple[str, list[str]]] = {
    # filesystem: (root, every folder below the root)
    "Local": (
        "/",
        [
            "/home",
            "/home/backup",
            "/home/backup/nightly",
            "/mnt",
            "/mnt/nas",
            "/mnt/nas/3cx-backups",
            "/mnt/nas/3cx-backups/2024",
            "/mnt/nas/3cx-backups/2025",
            "/var",
            "/var/lib",
            "/var/lib/3cxpbx",
            "/var/lib/3cxpbx/Instance1",
            _INSTANCE,
            f"{_INSTANCE}/Backups",
            f"{_INSTANCE}/Backups/Archive",
            f"{_INSTANCE}/Recordings",
            f"{_INSTANCE}/Recordings/100",
            f"{_INSTANCE}/Recordings/101",
            f"{_INSTANCE}/Recordings/Queue 800",
            f"{_INSTANCE}/Ivr",
            f"{_INSTANCE}/Ivr/Prompts",
            f"{_INSTANCE}/Ivr/Prompts/Sets",
            f"{_INSTANCE}/Logs",
            f"{_INSTANCE}/Http",
        ],
    ),
    "Logs": (
        f"{_INSTANCE}/Logs",
        [
            f"{_INSTANCE}/Logs/PbxSrv",
            f"{_INSTANCE}/Logs/CallFlow",
            f"{_INSTANCE}/Logs/QueueManager",
            f"{_INSTANCE}/Logs/Services",
            f"{_INSTANCE}/Logs/Services/Nginx",
            f"{_INSTANCE}/Logs/Services/Nginx/Archive",
            f"{_INSTANCE}/Logs/Archive",
            f"{_INSTANCE}/Logs/Archive/2025-05",
            f"{_INSTANCE}/Logs/Archive/2025-06",
        ],
    ),
    "Ftp": (
        "/",
        [
            "/backups",
            "/backups/pbx1",
            "/backups/pbx1/weekly",
            "/recordings",
            "/recordings/2025",
            "/recordings/2025/06",
            "/pub",
        ],
    ),
    "Sftp": (
        "/",
        [
            "/home",
            "/home/3cx",
            "/home/3cx/backups",
            "/home/3cx/backups/daily",
            "/home/3cx/recordings",
            "/srv",
            "/srv/archive",
        ],
    ),
    "NetworkShare": (
        "/",
        [
            "/PBX",
            "/PBX/Backups",
            "/PBX/Backups/Täglich",
            "/PBX/Recordings",
            "/IT",
            "/IT/Archive",
        ],
    ),
    "GoogleDrive": (
        "/",
        [
            "/My Drive",
            "/My Drive/3CX Backups",
            "/My Drive/3CX Backups/Données",
            "/My Drive/Recordings",
            "/Shared drives",
            "/Shared drives/IT",
            "/Shared drives/IT/電話バックアップ",
        ],
    ),
    "GoogleBucket": (
        "/",
        [
            "/acme-pbx-backups-eu",
            "/acme-pbx-backups-eu/instance1",
            "/acme-pbx-backups-eu/instance1/2025",
            "/acme-pbx-recordings",
            "/acme-pbx-recordings/queue-800",
        ],
    ),
    "SharePoint": (
        "/",
        [
            "/sites",
            "/sites/IT",
            "/sites/IT/Shared Documents",
            "/sites/IT/Shared Documents/3CX",
            "/sites/IT/Shared Documents/3CX/Backups",
            "/sites/Sales",
            "/sites/Sales/Shared Documents",
        ],
    ),
    "AmazonS3": (
        "/",
        [
            "/acme-pbx-backups",
            "/acme-pbx-backups/pbx.simulator.test",
            "/acme-pbx-backups/pbx.simulator.test/backups",
            "/acme-pbx-backups/pbx.simulator.test/recordings",
            "/acme-pbx-backups/pbx.simulator.test/recordings/2025",
            "/acme-logs-archive",
        ],
    ),
}


class DirectoryError(ValueError):
    """The request names a folder that does not exist (or is not a path at all)."""


def filesystems() -> list[str]:
    return enum_values("Pbx.FileSystemType")


def list_directory(filesystem: str, path: str | None) -> tuple[str, list[str]]:
    """(normalised path, full paths of its sub-folders); DirectoryError for unknown paths."""
    root, _ = _TREES[filesystem]
    normalised = normalise(path, root)
    children = _children(filesystem)
    if normalised not in children:
        raise DirectoryError(f"The directory '{path}' does not exist on {filesystem}.")
    return normalised, list(children[normalised])


def normalise(path: str | None, root: str) -> str:
    """Absolute, "/"-separated, without "." or ".." or a trailing slash; empty means root."""
    text = (path or "").strip().replace("\\", "/")
    if text in ("", "/"):
        return root
    base = [] if text.startswith("/") else [p for p in root.split("/") if p]
    segments = base
    for segment in text.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                raise DirectoryError(f"The path '{path}' goes above the root.")
            segments = segments[:-1]
            continue
        segments = [*segments, segment]
    return "/" + "/".join(segments)


@cache
def _children(filesystem: str) -> dict[str, tuple[str, ...]]:
    root, folders = _TREES[filesystem]
    children: dict[str, list[str]] = {root: []}
    for folder in folders:
        children.setdefault(folder, [])
        parent = folder.rsplit("/", 1)[0] or "/"
        children.setdefault(parent, []).append(folder)
    return {folder: tuple(sorted(subfolders)) for folder, subfolders in children.items()}
