"""The jobs app sits below the product apps that use it."""

import ast
from pathlib import Path

import dashboard.jobs

ABOVE = ("dashboard.connections", "dashboard.storage", "dashboard.directory", "integrations")


def test_it_imports_none_of_the_apps_built_on_it():
    imported = set()
    for source in Path(dashboard.jobs.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert not {name for name in imported if name.startswith(ABOVE)}
