"""What a package imports, read from its source: for the tests that keep the apps layered."""

import ast
from pathlib import Path
from types import ModuleType


def imported_modules(path: Path) -> set[str]:
    """The absolute module names one file imports ("a.b" and "a.b.name" for `from a.b import
    name`)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def imports_of(package: ModuleType, *, prefixes: tuple[str, ...]) -> set[str]:
    """ "file imports module" for each module under `prefixes` that a file of `package`
    imports."""
    root = Path(package.__file__).parent
    return {
        f"{path.relative_to(root.parent.parent)} imports {module}"
        for path in sorted(root.rglob("*.py"))
        for module in imported_modules(path)
        if any(module == prefix or module.startswith(f"{prefix}.") for prefix in prefixes)
    }
