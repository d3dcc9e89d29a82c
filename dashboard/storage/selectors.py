"""Reading a browse for the page: its folders, the breadcrumb back up, the answer as JSON."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from dashboard.storage.forms import FILESYSTEM_LABELS
from dashboard.storage.models import StorageBrowse
from dashboard.storage.paths import breadcrumb, folder_name, folder_path
from integrations.threecx import errors
from integrations.threecx.directory_info import directory_parameters_parse

#: What to do about errors whose message does not already say it.
ADVICE = {
    errors.InvalidParameters.title: (
        "Check the file system and the path: go back up with the breadcrumb, or pick a folder "
        "from a list the PBX gave."
    ),
    errors.ServerError.title: (
        "The PBX failed on its side. Try again in a minute; if it keeps failing, look at the "
        "3CX server's event log."
    ),
    errors.Unavailable.title: "The PBX is busy or restarting. Try again in a minute.",
    errors.RateLimited.title: "Wait a minute before browsing again.",
}
#: Errors fixed in the connection's settings (address, credentials), not by browsing elsewhere.
CONNECTION_ERRORS = frozenset(
    {
        errors.AuthenticationFailed.title,
        errors.ConnectionFailed.title,
        errors.NotFound.title,
        errors.UnsafeAddress.title,
        errors.BadResponse.title,
    }
)


@dataclass(frozen=True)
class Place:
    """A folder to open: its label and path, and how to ask for it.

    A plain browse opens it with a POST of `values` (JSON for hx-vals) and links to the page
    at `query`, which is what the address bar shows then; an Advanced one POSTs `parameters`
    (the same JSON with another Path), which may carry credentials and so never goes into a
    URL.
    """

    label: str
    path: str
    query: str = ""
    values: str = ""
    parameters: str = ""


def browse_folders(browse: StorageBrowse) -> list[Place]:
    parent = browse.result.get("Path") or browse.path
    place = _placer(browse)
    paths = [folder_path(parent, str(entry)) for entry in browse.result.get("Dirs") or []]
    return [place(folder_name(path), path) for path in paths]


def browse_breadcrumb(browse: StorageBrowse) -> list[Place]:
    """From the top of the file system to the folder asked for (or answered)."""
    current = browse.result.get("Path") or browse.path
    top = FILESYSTEM_LABELS.get(browse.filesystem, browse.filesystem)
    place = _placer(browse)
    return [
        place(crumb.label, crumb.path) for crumb in breadcrumb(current, root=browse.root, top=top)
    ]


def browse_query(*, filesystem: str, path: str, root: str) -> str:
    """The storage page's query string for a plain browse: what bookmarks and Back keep."""
    return urlencode({"filesystem": filesystem, "path": path, "root": root})


def browse_answer_json(browse: StorageBrowse) -> str:
    return json.dumps(browse.result, indent=2, ensure_ascii=False)


def browse_advice(browse: StorageBrowse) -> str:
    return ADVICE.get(browse.error_title, "")


def browse_blames_connection(browse: StorageBrowse) -> bool:
    return browse.error_title in CONNECTION_ERRORS


def _placer(browse: StorageBrowse) -> Callable[[str, str], Place]:
    """Places asked for the way `browse` was: same file system, same Advanced JSON."""
    if not browse.raw_parameters:
        return lambda label, path: Place(
            label,
            path,
            query=browse_query(filesystem=browse.filesystem, path=path, root=browse.root),
            values=json.dumps(
                {"filesystem": browse.filesystem, "path": path, "root": browse.root},
                ensure_ascii=False,
            ),
        )
    inner = directory_parameters_parse(browse.parameters_typed())["parameters"]
    return lambda label, path: Place(
        label, path, parameters=json.dumps({**inner, "Path": path}, ensure_ascii=False)
    )
