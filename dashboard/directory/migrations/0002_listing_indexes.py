"""Indexes for the directory listings: trigram search, sorting, and filter choices.

Raw SQL rather than Meta.indexes: the search index is on an expression that must match
`dashboard.directory.selectors.SearchText` character for character, and the trigram
indexes exist on PostgreSQL only (SQLite has no pg_trgm; it scans, which is fine for the
small directories a SQLite install holds). Built CONCURRENTLY so that a large directory
keeps syncing while they are created.
"""

from django.contrib.postgres.operations import BtreeGinExtension, TrigramExtension
from django.db import migrations

# Keep in step with selectors.SEARCH_FIELDS / SearchText and Django's icontains on
# PostgreSQL, which compares UPPER(<expression>::text) LIKE UPPER('%term%'). The leading
# space lets short words match at a word's start (LIKE '% JA%'), which trigrams can find.
SEARCH_EXPRESSION = (
    "UPPER((' ' || number || ' ' || name || ' ' || email || ' ' || company || ' ' || phone"
    " || ' ' || mobile || ' ' || department)::text)"
)
COMPANY_EXPRESSION = "UPPER((' ' || company)::text)"

ENTRY = "directory_directoryentry"
RELATION = "directory_directoryrelation"

BTREE = {
    # Sorting a kind by a column. The id ends each index because listings break ties by id:
    # without it, sorting 100,000 contacts whose first 5,000 share a company (or have none)
    # sorts all 5,000 to show 50.
    "directory_entry_name_sort_idx": f"{ENTRY} (organization_id, kind, name, id)",
    "directory_entry_email_sort_idx": f"{ENTRY} (organization_id, kind, email, id)",
    "directory_entry_company_sort_idx": f"{ENTRY} (organization_id, kind, company, id)",
    "directory_entry_dept_sort_idx": f"{ENTRY} (organization_id, kind, department, id)",
    # Sorting by type, and the distinct types behind the filter's choices.
    "directory_entry_type_sort_idx": f"{ENTRY} (organization_id, kind, entry_type, id)",
    # Does a queue member / IVR target exist? Which entry has this number?
    "directory_entry_conn_number_idx": f"{ENTRY} (connection_id, number)",
    # Members of a department (users point at it by its 3CX id).
    "directory_relation_target_id_idx": f"{RELATION} (connection_id, kind, target_external_id)",
}

# GIN over (organization, kind, type, text): btree_gin lets the one index scan pick the
# tenant, the kind and a contact type too, instead of AND-ing the matches with a bitmap of
# the organisation's 100,000 rows, rechecking 5,000 contacts with "555" in a number to find
# 3 users, or 11,000 contacts in "Sales" to find the 190 from the CRM without an email.
TRIGRAM = {
    "directory_entry_search_trgm": (
        f"{ENTRY} USING gin (organization_id, kind, entry_type, ({SEARCH_EXPRESSION})"
        " gin_trgm_ops)"
    ),
    "directory_entry_company_trgm": (
        f"{ENTRY} USING gin (organization_id, ({COMPANY_EXPRESSION}) gin_trgm_ops)"
        " WHERE kind = 'contact'"
    ),
}


class PostgresOnly:
    """Django's CreateExtension skips other databases going forwards, but not backwards."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Trigram(PostgresOnly, TrigramExtension):
    pass


class BtreeGin(PostgresOnly, BtreeGinExtension):
    pass


def create_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    indexes = {**BTREE, **TRIGRAM} if postgres else BTREE
    concurrently = "CONCURRENTLY " if postgres else ""
    for name, definition in indexes.items():
        schema_editor.execute(
            f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {definition}"
        )


def drop_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    concurrently = "CONCURRENTLY " if postgres else ""
    for name in (*BTREE, *TRIGRAM) if postgres else BTREE:
        schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("directory", "0001_initial"),
    ]

    operations = [
        Trigram(),
        BtreeGin(),
        migrations.RunPython(create_indexes, drop_indexes, atomic=False),
    ]
