"""Folder paths as 3CX answers them: names, full paths and the breadcrumb back up.

3CX on Linux answers "/"-separated full paths; a Windows server may answer "C:\\Backups".
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Crumb:
    label: str
    path: str


def folder_name(path: str) -> str:
    """The last segment of a folder path: "/mnt/nas" -> "nas"."""
    segments = _segments(path)
    return segments[-1][0] if segments else path


def folder_path(parent: str, entry: str) -> str:
    """The full path of one entry of "Dirs": already full, or a bare name under `parent`."""
    if "/" in entry or "\\" in entry or not parent:
        return entry
    separator = _separator(parent)
    return parent.rstrip(separator) + separator + entry


def breadcrumb(path: str, *, root: str, top: str) -> list[Crumb]:
    """Crumbs from the top (`root`, labelled `top`) down to `path`, the last being `path`.

    Segments above `root` are left out: on some file systems (Logs) the top is a deep folder
    and its parents cannot be listed.
    """
    segments = _segments(path)
    above = _segments(root) if root else []
    skip = len(above) if segments[: len(above)] == above else 0
    return [Crumb(top, root), *(Crumb(label, prefix) for label, prefix in segments[skip:])]


def _segments(path: str) -> list[tuple[str, str]]:
    """(name, full path up to and including it) for every segment of `path`."""
    separator = _separator(path)
    lead = separator if path.startswith(separator) else ""
    parts = [part for part in path.split(separator) if part]
    return [(part, lead + separator.join(parts[: i + 1])) for i, part in enumerate(parts)]


def _separator(path: str) -> str:
    return "\\" if "\\" in path and "/" not in path else "/"
