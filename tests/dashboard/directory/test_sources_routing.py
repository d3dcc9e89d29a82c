"""How routing in 3CX items becomes references: forwarding profiles, IVR routes and keys."""

from dashboard.directory.models import DirectoryRelation
from dashboard.directory.sources import SOURCES, destination_reference, did_external_id

FORWARDING = DirectoryRelation.Kind.FORWARDING
IVR_FORWARD = DirectoryRelation.Kind.IVR_FORWARD


def normalize(kind: str, item: dict):
    return next(source for source in SOURCES if source.kind == kind).normalize(item)


def destination(to, number="", external="", peer="None") -> dict:
    return {"To": to, "Number": number, "External": external, "Type": peer}


def triples(references) -> list[tuple[str, str, str]]:
    return [(r.label, r.target_type, r.target_number) for r in references]


def test_every_forwarding_profile_destination_that_names_a_number_is_a_reference():
    user = {
        "Id": 1,
        "Number": "100",
        "ForwardingProfiles": [
            {
                "Name": "Available",
                "AvailableRoute": {
                    "NoAnswerExternal": destination("VoiceMail", "100", peer="Extension"),
                    "NoAnswerInternal": destination("Extension", "101", peer="Extension"),
                    "BusyExternal": destination("None"),
                    "BusyInternal": None,
                },
                "AwayRoute": None,
            },
            {
                "Name": "Out of office",
                "CustomName": "",
                "AvailableRoute": {
                    "NoAnswerExternal": destination("External", external="+447700900123")
                },
                "AwayRoute": {"External": destination("External", external="0044 20 7946 0000")},
            },
            {
                "Name": "Custom 1",
                "CustomName": "Holiday cover",
                "AwayRoute": {"Internal": destination("Queue", "800")},
            },
        ],
    }
    references = [r for r in normalize("user", user).references if r.kind == FORWARDING]
    assert triples(references) == [
        ("Available: no answer, external callers", "VoiceMail", "100"),
        ("Available: no answer, internal callers", "Extension", "101"),
        ("Out of office: no answer, external callers", "External", "+447700900123"),
        ("Out of office: all calls, external callers", "External", "0044 20 7946 0000"),
        ("Holiday cover: all calls, internal callers", "Queue", "800"),
    ]


def test_a_user_without_forwarding_profiles_has_only_department_references():
    user = {"Id": 1, "Groups": [{"GroupId": 3, "Name": "Sales"}], "ForwardingProfiles": None}
    references = normalize("user", user).references
    assert [(r.kind, r.target_type, r.target_external_id) for r in references] == [
        (DirectoryRelation.Kind.DEPARTMENT_MEMBER, "Group", 3)
    ]


def test_ivr_keys_and_timeout_say_their_forward_type_and_routes_their_destination_type():
    ivr = {
        "Id": 9,
        "Number": "700",
        "Forwards": [
            {"Input": "1", "ForwardType": "Queue", "ForwardDN": "800"},
            {"Input": "2", "ForwardType": "VoiceMail", "ForwardDN": "100"},
            {"Input": "*", "ForwardType": "RepeatPrompt", "ForwardDN": ""},
        ],
        "TimeoutForwardDN": "101",
        "TimeoutForwardType": "Extension",
        "BreakRoute": {"Route": destination("External", external="+14155550123")},
        "HolidaysRoute": {"Route": destination("IVR", "701", peer="IVR")},
        "OutOfOfficeRoute": {"IsPromptEnabled": False, "Route": destination("None")},
    }
    references = normalize("ivr", ivr).references
    assert all(r.kind == IVR_FORWARD for r in references)
    assert triples(references) == [
        ("Key 1", "Queue", "800"),
        ("Key 2", "VoiceMail", "100"),
        ("Timeout", "Extension", "101"),
        ("Break route", "External", "+14155550123"),
        ("Holidays", "IVR", "701"),
    ]


def test_queue_agents_and_ring_group_members_are_extensions():
    queue = normalize("queue", {"Id": 1, "Agents": [{"Number": "100", "Name": "Ada"}]})
    group = normalize("ring_group", {"Id": 2, "Members": [{"Number": "101", "Name": "Alan"}]})
    assert [r.target_type for r in (*queue.references, *group.references)] == [
        "Extension",
        "Extension",
    ]


def test_a_destination_without_to_falls_back_to_its_peer_type():
    reference = destination_reference(FORWARDING, {"Number": "100", "Type": "Extension"}, label="x")
    assert (reference.target_type, reference.target_number) == ("Extension", "100")
    assert destination_reference(FORWARDING, {"To": "Extension", "Number": ""}, label="x") is None
    assert destination_reference(FORWARDING, "not an object", label="x") is None


def test_a_did_id_is_the_same_everywhere_and_a_did_without_a_number_has_none():
    # Fixed, so that stored ids stay valid across releases: changing the derivation would
    # make every DID look removed and added again.
    assert did_external_id({"Number": "+14155550100"}) == 4671346482189860198
    assert did_external_id({"Number": ""}) is None
    assert did_external_id({"Number": None}) is None
