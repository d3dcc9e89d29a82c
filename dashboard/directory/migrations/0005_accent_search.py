"""Accent-insensitive search: the trigram indexes of migration 0002, over unaccented text.

PostgreSQL's `unaccent()` may not be used in an index (it is only STABLE: its dictionary can
change), so `directory_unaccent(text)` wraps it with a fixed dictionary as IMMUTABLE, as the
PostgreSQL documentation suggests. SQLite gets a function of that name from the app
(`dashboard/directory/search.py`) and has no trigram indexes.

Keep the expressions in step with `dashboard.directory.selectors.SearchText`.
"""

from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations

ENTRY = "directory_directoryentry"
COLUMNS = "' ' || number || ' ' || name || ' ' || email || ' ' || company || ' ' || phone"
COLUMNS += " || ' ' || mobile || ' ' || department"

OLD = {
    "directory_entry_search_trgm": (
        f"{ENTRY} USING gin (organization_id, kind, entry_type, (UPPER(({COLUMNS})::text))"
        " gin_trgm_ops)"
    ),
    "directory_entry_company_trgm": (
        f"{ENTRY} USING gin (organization_id, (UPPER((' ' || company)::text)) gin_trgm_ops)"
        " WHERE kind = 'contact'"
    ),
}
NEW = {
    "directory_entry_search_unaccent_trgm": (
        f"{ENTRY} USING gin (organization_id, kind, entry_type,"
        f" (UPPER(directory_unaccent({COLUMNS})::text)) gin_trgm_ops)"
    ),
    "directory_entry_company_unaccent_trgm": (
        f"{ENTRY} USING gin (organization_id,"
        " (UPPER(directory_unaccent(' ' || company)::text)) gin_trgm_ops)"
        " WHERE kind = 'contact'"
    ),
}

FUNCTION = """
CREATE OR REPLACE FUNCTION directory_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
"""


class Unaccent(UnaccentExtension):
    """Django's CreateExtension skips other databases going forwards, but not backwards."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def _swap(schema_editor, *, drop: dict[str, str], create: dict[str, str]) -> None:
    # The new indexes are built before the old ones go, CONCURRENTLY, so that searches stay
    # fast and a large directory keeps syncing meanwhile.
    for name, definition in create.items():
        schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")
    for name in drop:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    _swap(schema_editor, drop=OLD, create=NEW)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _swap(schema_editor, drop=NEW, create=OLD)
    schema_editor.execute("DROP FUNCTION IF EXISTS directory_unaccent(text)")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("directory", "0004_mask_stored_licence_keys")]

    operations = [
        Unaccent(),
        migrations.RunPython(forwards, backwards, atomic=False),
    ]
