"""Exports in a real browser: an admin filters and sorts a directory tab, exports it from the
keyboard as CSV and as XLSX and opens each file; a bigger export goes to a real Celery worker,
whose page shows its progress and then offers the file."""

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Download, Page, expect

from dashboard.directory.models import DirectoryEntry, DirectoryState, EntryKind
from dashboard.exports.models import Export
from dashboard.tenants.models import Activity
from integrations.threecx.models import ThreeCXConnection
from tests.e2e.test_accounts_flow import sign_in
from tests.workers import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORKER_TIMEOUT_MS = 60_000
FORMULA = '=HYPERLINK("http://evil.example","Click")'
#: Users of the Support department, enabled: the rows the filtered tab lists.
SUPPORT = (
    "Zoë Müller-Lüdenscheidt",
    "王秀英",
    "محمد العربي",
    FORMULA,
    'Ana "Nani" Ångström',
)
#: Users the search or the Enabled filter leave out.
OTHERS = (
    ("Zoë Disabled", "Support", False),
    ("Bob Sales", "Sales", True),
    ("Çelik", "Sales", True),
)
#: The tab's columns on screen, as the export names them (Status is spelled out in four
#: yes/no columns: Enabled, Registered, 2FA required, Administrator).
SCREEN_TO_EXPORT = {
    "Ext.": "Number",
    "Name": "Name",
    "Email": "Email",
    "Department": "Department",
    "Mobile": "Mobile",
}
STATUS_COLUMNS = ("Enabled", "Registered", "2FA required", "Administrator")
MENU = "#export-directory-entries"


@pytest.fixture
def exports_dir(settings, tmp_path, monkeypatch) -> Path:
    """Export files of this test only, in the site (this process) and in a worker process
    started by the test (its var dir holds the exports storage)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports")},
        },
    }
    monkeypatch.setenv("DASHBOARD_VAR_DIR", str(tmp_path))
    # The worker takes its tasks from this run's broker, whatever its var dir says.
    monkeypatch.setenv("CELERY_BROKER_URL", settings.CELERY_BROKER_URL)
    return tmp_path / "exports"


@pytest.fixture
def users_url(live_server, organization) -> str:
    """The Users tab of an organisation with one synced connection, written straight into
    the database (no simulator, no sync)."""
    connection = ThreeCXConnection(
        organization=organization,
        name="Head office PBX",
        base_url="https://pbx.example.com",
        client_id="900",
    )
    connection.client_secret_set("not-a-real-secret")
    connection.save()
    DirectoryState.objects.create(connection=connection, generation=1)
    people = [(name, "Support", True) for name in SUPPORT] + list(OTHERS)
    for index, (name, department, enabled) in enumerate(people):
        number = str(101 + index)
        DirectoryEntry.objects.create(
            organization=organization,
            connection=connection,
            kind=EntryKind.USER,
            external_id=index + 1,
            generation_added=1,
            data={"Id": index + 1, "Number": number, "DisplayName": name},
            content_hash=number,
            number=number,
            name=name,
            first_name=name.split()[0],
            last_name=name.split()[-1],
            email=f"user{number}@acme.example",
            mobile="0612345678" if index % 2 else "+31 6 1234 5678",
            phone="+14155550107",
            department=department,
            enabled=enabled,
            is_registered=bool(index % 2),
            require_2fa=index == 0,
            is_admin=index in (0, 2),
        )
    return f"{live_server.url}/orgs/{organization.pk}/directory/users/"


def test_an_admin_exports_a_filtered_tab_as_csv_and_xlsx_from_the_keyboard(
    page, live_server, admin, users_url, exports_dir
):
    sign_in(page, live_server, admin.email)
    page.goto(users_url)
    page.get_by_role("searchbox", name="Search").fill("support")
    expect(page).to_have_url(re.compile(r"\?q=support$"))
    page.get_by_label("Enabled").select_option("yes")
    expect(page).to_have_url(re.compile(r"\?q=support&enabled=yes$"))
    page.get_by_role("link", name=re.compile("^Name")).click()
    expect(page).to_have_url(re.compile(r"\?q=support&enabled=yes&sort=name$"))
    expect(page.get_by_role("columnheader", name=re.compile("^Name"))).to_have_attribute(
        "aria-sort", "ascending"
    )
    screen = screen_table(page, rows=len(SUPPORT))
    assert sorted(row["Name"] for row in screen) == sorted(SUPPORT)

    # CSV, as the menu offers it: with a byte order mark. The menu's search, filters and
    # sort are those the tab shows now (HTMX changed them without reloading the page).
    download = export_from_keyboard(page, format="csv")
    assert re.fullmatch(r"acme-telecom-users-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == len(SUPPORT) + 1  # RFC 4180 line ends; no stray lines
    header, *rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    exported = [dict(zip(header, row, strict=True)) for row in rows]
    assert_same_rows(screen, exported)
    by_name = {row["Name"].removeprefix("'"): row for row in exported}
    # The formula is neutralised; phone numbers keep their "+" and leading zeros.
    assert by_name[FORMULA]["Name"] == f"'{FORMULA}"
    assert {row["Caller ID"] for row in exported} == {"+14155550107"}
    assert {row["Mobile"] for row in exported} == {"0612345678", "+31 6 1234 5678"}
    assert [row["Enabled"] for row in exported] == ["yes"] * len(SUPPORT)
    assert by_name["王秀英"]["3CX Id"] == "2"

    # XLSX, from the page as the address bar left it: the same rows, typed.
    page.reload()
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("support")
    download = export_from_keyboard(page, format="xlsx")
    assert download.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    assert sheet.title == "Users of Acme Telecom"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:N{len(SUPPORT) + 1}"
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == header
    cells = {row[header.index("Name")].value: row for row in sheet.iter_rows(min_row=2)}
    assert_same_rows(
        screen,
        [
            dict(zip(header, ("" if v is None else v for v in row), strict=True))
            for row in values[1:]
        ],
    )
    formula = cells[FORMULA][header.index("Name")]
    assert (formula.value, formula.data_type) == (FORMULA, "s")  # text, never run
    zoe = dict(zip(header, cells[SUPPORT[0]], strict=True))
    assert (zoe["3CX Id"].value, zoe["3CX Id"].data_type) == (1, "n")
    assert (zoe["Number"].value, zoe["Number"].data_type) == ("101", "s")
    assert zoe["Mobile"].value == "+31 6 1234 5678" and zoe["Caller ID"].value == "+14155550107"
    assert dict(zip(header, cells["王秀英"], strict=True))["Mobile"].value == "0612345678"
    assert (zoe["Enabled"].value, zoe["2FA required"].value, zoe["Registered"].value) == (
        True,
        True,
        False,
    )
    # Small exports download at once (no job, no file kept), and are on record all the same.
    assert not Export.objects.exists()
    assert not any(exports_dir.rglob("*.*"))
    logged = Activity.objects.filter(action="export.created", actor=admin).order_by(
        "created_at", "id"
    )
    assert [(a.details["format"], a.details["rows"], a.details["filters"]) for a in logged] == [
        (format, len(SUPPORT), "Search “support”; Enabled: Yes; sorted by Name")
        for format in ("csv", "xlsx")
    ]


def test_a_big_export_is_prepared_by_the_worker_and_then_downloaded(
    page, live_server, admin, organization, users_url, exports_dir, settings
):
    settings.EXPORT_DIRECT_MAX_ROWS = 3
    sign_in(page, live_server, admin.email)
    page.goto(f"{users_url}?q=support&enabled=yes&sort=-name")
    screen = screen_table(page, rows=len(SUPPORT))

    choose_from_keyboard(page, format="csv")
    page.keyboard.press("Enter")

    # No worker yet: its page says the export waits for one, and keeps checking.
    expect(page.get_by_role("heading", level=1)).to_have_text("Users of Acme Telecom")
    status = page.locator("#export-status")
    expect(status).to_contain_text("Waiting for the background worker")
    expect(page.locator(".facts")).to_contain_text(
        "Search “support”; Enabled: Yes; sorted by Name (descending)"
    )
    export = Export.objects.get()
    assert page.url == f"{live_server.url}/exports/{export.pk}/"

    # The account menu leads to one's exports, with the rows written of the total.
    account = page.get_by_role("navigation", name="Account")
    account.locator("summary").click()
    account.get_by_role("link", name="Your exports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your exports")
    row = page.locator("tbody tr").filter(has_text="Users of Acme Telecom")
    expect(row).to_contain_text(f"0 of {len(SUPPORT)}")
    expect(row).to_contain_text("Queued")
    row.get_by_role("link", name="Users of Acme Telecom").click()
    expect(status).to_contain_text("Waiting for the background worker")

    with celery_worker():
        # The page follows the job by itself: no reload.
        expect(status).to_contain_text(f"Ready. {len(SUPPORT)} rows", timeout=WORKER_TIMEOUT_MS)
        expect(status.get_by_role("link", name=re.compile("^Download"))).to_be_visible()

    page.reload()
    with page.expect_download() as info:
        status.get_by_role("link", name=re.compile("^Download")).click()
    download = info.value
    assert download.suggested_filename == Export.objects.get().filename
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header, *rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    exported = [dict(zip(header, row, strict=True)) for row in rows]
    assert_same_rows(screen, exported)
    assert [p.suffix for p in exports_dir.rglob("*.*")] == [".csv"]

    page.goto(f"{live_server.url}/exports/")
    row = page.locator("tbody tr").filter(has_text="Users of Acme Telecom")
    expect(row.get_by_role("link", name="Download")).to_be_visible()
    expect(row.locator("td").nth(3)).to_have_text(str(len(SUPPORT)))  # rows


# --- helpers ---------------------------------------------------------------------------------


def screen_table(page: Page, *, rows: int) -> list[dict[str, str]]:
    """The tab's rows as the screen shows them: {column header: cell text}."""
    body = page.locator("#directory-results tbody tr")
    expect(body).to_have_count(rows)
    headers = [
        re.sub(r"\s*[▲▼]$", "", text.strip())
        for text in page.locator("#directory-results thead th").all_inner_texts()
    ]
    return [
        dict(
            zip(
                headers, (cell.strip() for cell in row.locator("td").all_inner_texts()), strict=True
            )
        )
        for row in body.all()
    ]


def assert_same_rows(screen: list[dict[str, str]], exported: list[dict]) -> None:
    """The export holds the screen's rows in the screen's order, with the screen's columns
    (Status spelled out as yes/no columns)."""
    assert len(exported) == len(screen)
    for shown, written in zip(screen, exported, strict=True):
        for label, header in SCREEN_TO_EXPORT.items():
            value = str(written[header])
            if header == "Name":
                value = value.removeprefix("'")  # a neutralised formula, shown as is
            assert value == shown[label], (label, shown, written)
        assert all(header in written for header in STATUS_COLUMNS)


def export_from_keyboard(page: Page, *, format: str) -> Download:
    """The file the export menu downloads, used from the keyboard (`choose_from_keyboard`,
    then Enter)."""
    choose_from_keyboard(page, format=format)
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    return info.value


def choose_from_keyboard(page: Page, *, format: str) -> None:
    """As a keyboard user: focus the export menu's button and open it with Enter, Tab to the
    format and pick `format` with the arrow keys, then Tab to the Export button."""
    menu = page.locator(MENU)
    menu.locator("summary").focus()
    expect(menu.locator("summary")).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("radio", name="CSV")).to_be_focused()
    if format == "xlsx":
        page.keyboard.press("ArrowDown")
        expect(menu.get_by_role("radio", name="Excel (XLSX)")).to_be_checked()
    else:
        expect(menu.get_by_role("radio", name="CSV")).to_be_checked()
    page.keyboard.press("Tab")
    expect(menu.get_by_role("checkbox", name="Byte order mark (for Excel)")).to_be_focused()
    expect(menu.get_by_role("checkbox", name="Byte order mark (for Excel)")).to_be_checked()
    page.keyboard.press("Tab")
    expect(menu.get_by_role("checkbox", name="All fields")).to_be_focused()
    expect(menu.get_by_role("checkbox", name="All fields")).not_to_be_checked()
    page.keyboard.press("Tab")
    expect(menu.get_by_role("button", name="Export")).to_be_focused()
