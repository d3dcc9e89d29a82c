from dashboard.storage.paths import Crumb, breadcrumb, folder_name, folder_path


def test_a_folder_is_named_by_its_last_segment():
    assert folder_name("/mnt/nas/3cx-backups") == "3cx-backups"
    assert folder_name("C:\\ProgramData\\3CX") == "3CX"
    assert folder_name("/") == "/"


def test_full_paths_are_kept_and_bare_names_are_put_under_their_parent():
    assert folder_path("/mnt", "/mnt/nas") == "/mnt/nas"
    assert folder_path("/mnt", "nas") == "/mnt/nas"
    assert folder_path("/", "home") == "/home"
    assert folder_path("C:\\Backups", "Daily") == "C:\\Backups\\Daily"


def test_the_breadcrumb_leads_from_the_top_to_the_folder():
    assert breadcrumb("/mnt/nas", root="/", top="Local disk") == [
        Crumb("Local disk", "/"),
        Crumb("mnt", "/mnt"),
        Crumb("nas", "/mnt/nas"),
    ]


def test_the_breadcrumb_of_the_top_folder_is_the_top_alone():
    assert breadcrumb("/", root="/", top="FTP") == [Crumb("FTP", "/")]
    assert breadcrumb("", root="", top="FTP") == [Crumb("FTP", "")]


def test_the_breadcrumb_leaves_out_what_lies_above_a_deep_top():
    logs = "/var/lib/3cxpbx/Instance1/Data/Logs"
    assert breadcrumb(f"{logs}/Services/Nginx", root=logs, top="Logs") == [
        Crumb("Logs", logs),
        Crumb("Services", f"{logs}/Services"),
        Crumb("Nginx", f"{logs}/Services/Nginx"),
    ]


def test_without_a_known_top_every_segment_is_a_crumb():
    assert [crumb.path for crumb in breadcrumb("/home/backup", root="", top="Local disk")] == [
        "",
        "/home",
        "/home/backup",
    ]


def test_windows_paths_are_split_on_backslashes():
    assert breadcrumb("C:\\Backups\\Daily", root="", top="Local disk")[1:] == [
        Crumb("C:", "C:"),
        Crumb("Backups", "C:\\Backups"),
        Crumb("Daily", "C:\\Backups\\Daily"),
    ]
