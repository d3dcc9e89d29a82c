"""manage.py xapi_operations [--search TEXT] [--tag TAG]: the XAPI operations, from the shell."""

import difflib

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.threecx.operations.catalogue import Operation, operations_search, tags


class Command(BaseCommand):
    help = (
        "List the operations of the XAPI spec the dashboard carries, one per line: method, "
        "id, whether it reads or writes, and path. --search keeps those whose id, path, "
        "summary or tag contain every word; --tag keeps one tag's. Run one with "
        "`manage.py xapi_call`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--search",
            default="",
            metavar="TEXT",
            help="words that must all appear in the id, path, summary or tag (any case)",
        )
        parser.add_argument("--tag", default="", help="only the operations of this tag (Users)")

    def handle(self, *args, **options) -> None:
        tag = _tag_get(options["tag"]) if options["tag"] else ""
        text = options["search"].strip()
        found = operations_search(text, tag=tag)
        if not found:
            self.stdout.write(f"No operation matches {_criteria(text, tag)}.")
            return
        for line in _lines(found):
            self.stdout.write(line)
        count = f"{len(found)} operation{'' if len(found) == 1 else 's'}"
        if text or tag:
            self.stdout.write(f"{count} matching {_criteria(text, tag)}.")
        else:
            self.stdout.write(f"{count}.")


def _tag_get(value: str) -> str:
    """The spec's spelling of the tag `value` names in any case; CommandError otherwise."""
    known = [name for name, _ in tags()]
    for name in known:
        if name.lower() == value.strip().lower():
            return name
    close = difflib.get_close_matches(value.lower(), [name.lower() for name in known], n=5)
    if close:
        spelled = {name.lower(): name for name in known}
        hint = "Did you mean " + ", ".join(spelled[name] for name in close) + "?"
    else:
        hint = "The tags are: " + ", ".join(known) + "."
    raise CommandError(f"There is no tag {value!r} in the XAPI spec. {hint}")


def _lines(found: list[Operation]) -> list[str]:
    """Columns as wide as their widest cell in this listing, so that it reads as a table; the
    path last, as some are over 200 characters long."""
    id_width = max(len(operation.id) for operation in found)
    return [
        f"{operation.method:<6}  {operation.id:<{id_width}}  "
        f"{'read' if operation.is_read else 'write':<5}  {operation.path}"
        for operation in found
    ]


def _criteria(text: str, tag: str) -> str:
    parts = [f"{text!r}"] if text else []
    if tag:
        parts.append(f"in tag {tag}")
    return " ".join(parts)
