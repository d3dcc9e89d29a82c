"""Deterministic, realistic and deliberately awkward directory data.

Everything derives from the seed: the eager sets (users, groups, queues...) from one
`random.Random` per set, contacts lazily from (seed, index) with a counter-based hash so that
contact 150,000 costs the same as contact 1 and nothing is kept in memory.

The awkward parts are on purpose, because real phone systems have them: accents, CJK and
right-to-left names, an apostrophe in a name (O'Brien) for OData quoting, users without email
or mobile, duplicate emails and numbers, phone numbers in every format but E.164, disabled
users still answering queues, members pointing at extensions that no longer exist, admins
without two-factor authentication and offline trunks.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from .model import complete, enum_members

ADMIN_ROLES = ("system_owners", "system_admins", "group_owners", "group_admins")
ROLES = (*ADMIN_ROLES, "managers", "receptionists", "users")
PROFILE_NAMES = ("Available", "Away", "Out of office", "Custom 1", "Custom 2")

# (native, ascii) pairs; ascii builds email addresses.
_CULTURES: list[tuple[int, list[tuple[str, str]], list[tuple[str, str]]]] = [
    (
        40,
        [
            ("James", "james"),
            ("Mary", "mary"),
            ("Olivia", "olivia"),
            ("Liam", "liam"),
            ("Emma", "emma"),
            ("Noah", "noah"),
            ("Ava", "ava"),
            ("William", "william"),
            ("Grace", "grace"),
            ("Oliver", "oliver"),
        ],
        [
            ("Smith", "smith"),
            ("Johnson", "johnson"),
            ("O'Brien", "obrien"),
            ("Smith-Jones", "smith-jones"),
            ("Taylor", "taylor"),
            ("Brown", "brown"),
            ("O'Connor", "oconnor"),
            ("Williams", "williams"),
            ("McDonald", "mcdonald"),
        ],
    ),
    (
        8,
        [
            ("François", "francois"),
            ("Chloé", "chloe"),
            ("Jean-Luc", "jean-luc"),
            ("Zoë", "zoe"),
            ("Hélène", "helene"),
            ("Benoît", "benoit"),
        ],
        [
            ("Dubois", "dubois"),
            ("Lefèvre", "lefevre"),
            ("D'Angelo", "dangelo"),
            ("de la Cruz", "delacruz"),
            ("Moreau", "moreau"),
        ],
    ),
    (
        8,
        [
            ("Björn", "bjorn"),
            ("Søren", "soren"),
            ("Jürgen", "juergen"),
            ("Åsa", "asa"),
            ("Ørjan", "orjan"),
        ],
        [
            ("Müller", "mueller"),
            ("Østergaard", "ostergaard"),
            ("Groß", "gross"),
            ("van der Berg", "vanderberg"),
            ("Schäfer", "schaefer"),
        ],
    ),
    (
        7,
        [("José", "jose"), ("María José", "mariajose"), ("João", "joao"), ("Inês", "ines")],
        [("García", "garcia"), ("Núñez", "nunez"), ("Gonçalves", "goncalves"), ("Peña", "pena")],
    ),
    (
        5,
        [
            ("Łukasz", "lukasz"),
            ("Małgorzata", "malgorzata"),
            ("Jiří", "jiri"),
            ("Çağla", "cagla"),
            ("İsmail", "ismail"),
        ],
        [
            ("Dvořák", "dvorak"),
            ("Wójcik", "wojcik"),
            ("Yılmaz", "yilmaz"),  # noqa: RUF001 - the Turkish dotless i is the point
            ("Öztürk", "ozturk"),
        ],
    ),
    (
        5,
        [("Дмитрий", "dmitry"), ("Анна", "anna"), ("Νίκος", "nikos")],
        [("Иванов", "ivanov"), ("Смирнова", "smirnova"), ("Παπαδόπουλος", "papadopoulos")],
    ),
    (3, [("伟", "wei"), ("芳", "fang"), ("秀英", "xiuying")], [("王", "wang"), ("李", "li")]),
    (3, [("翔太", "shota"), ("さくら", "sakura")], [("佐藤", "sato"), ("鈴木", "suzuki")]),
    (3, [("민준", "minjun"), ("서연", "seoyeon")], [("김", "kim"), ("이", "lee")]),
    (
        5,
        [("محمد", "mohammed"), ("فاطمة", "fatima"), ("عمر", "omar")],
        [("العلي", "alali"), ("حداد", "haddad"), ("الخطيب", "alkhatib")],
    ),
    (
        5,
        [("נועה", "noa"), ("דוד", "david"), ("יעל", "yael")],
        [("כהן", "cohen"), ("לוי", "levi"), ("מזרחי", "mizrahi")],
    ),
]
_CULTURE_WEIGHTS = [weight for weight, _, _ in _CULTURES]

_COMPANIES = [
    ("Müller & Söhne GmbH", "mueller-soehne.example"),
    ("O'Reilly Logistics", "oreilly-logistics.example"),
    ("Acme, Inc.", "acme.example"),
    ("AT&T Partner Services", "att-partner.example"),
    ('"Quoted" Holdings Ltd', "quoted.example"),
    ("Café Noir S.à r.l.", "cafenoir.example"),
    ("株式会社サクラ商事", "sakura-shoji.example"),
    ("شركة الاتصالات المتقدمة", "advanced-telecom.example"),
    ('חברת הדוגמה בע"מ', "dugma.example"),
    ("Ørsted Byg A/S", "orsted-byg.example"),
    ("Northwind Traders", "northwind.example"),
    ("Contoso Ltd", "contoso.example"),
    ("Fabrikam (UK) Limited", "fabrikam.example"),
    ("Łódź Elektro Sp. z o.o.", "lodz-elektro.example"),
]
_DEPARTMENTS = ["", "Sales", "Procurement", "Comptabilité", "IT", "Einkauf", "営業部", "", "Legal"]
_TITLES = ["", "CEO", "Head of Procurement", "Ingénieur", "Office Manager", "", "Dr.", "Buyer"]
_TAGS = ["", "", "", "VIP", "Supplier", "Kunde", "顧客", "Do not call"]
_DOMAINS = ["acme.example", "acme-corp.example", "mail.acme.example"]
_LANGUAGES = ["EN", "EN", "EN", "DE", "FR", "ES", "IT", "NL", "JA", "AR", "HE"]

_GROUP_NAMES = [
    "Sales",
    "Support",
    "Vertrieb & Marketing",
    "Comptabilité",
    "営業部",
    "خدمة العملاء",
    "תמיכה",
    "R&D",
    "Müller's Team",
    "Night Shift / Nachtschicht",
]
_QUEUE_NAMES = [
    "Support Queue",
    "Ventes",
    "Billing & Accounts",
    "Kundendienst",
    "お問い合わせ",
    "الدعم الفني",
    "Night Queue",
    "VIP Line",
    "Sales O'Neill",
]
_RING_GROUP_NAMES = [
    "Reception",
    "Sales Hunt",
    "Lager / Warehouse",
    "Empfang",
    "受付",
    "الاستقبال",
    "קבלה",
]
_IVR_NAMES = ["Main IVR", "After Hours", "Menú Principal", "Hauptmenü", "メインメニュー"]
_GATEWAYS = [
    ("Twilio Elastic SIP Trunking", "example.pstn.twilio.example"),
    ("sipgate team", "sipconnect.sipgate.example"),
    ("BT Business SIP", "sip.bt.example"),
    ("Telekom DeutschlandLAN SIP-Trunk", "tel.t-online.example"),
    ("Vonage", "sip.vonage.example"),
]
_PHONE_MODELS = [
    ("Yealink T46U", "yealinkT4x.ph.xml"),
    ("Fanvil X4U", "fanvil.ph.xml"),
    ("Snom D785", "snomD7xx.ph.xml"),
]

# Valid E.164 numbers in ranges reserved for fiction or documentation.
_E164_PATTERNS = [
    ("+4420794600", 2),  # UK 020 7946 0xxx (Ofcom drama range)
    ("+1415555010", 1),  # US 555-01xx
    ("+1212555011", 1),
    ("+49301234", 4),
    ("+331234", 5),
    ("+81312345", 3),
    ("+97142", 6),
    ("+97231234", 3),
    ("+61255501", 3),
]


@dataclass(frozen=True)
class Numbering:
    """Extension number ranges, wide enough for the number of users."""

    width: int

    @classmethod
    def for_users(cls, users: int) -> Numbering:
        width = 3
        while users + 100 > 4 * 10 ** (width - 1):
            width += 1
        return cls(width)

    @property
    def unit(self) -> int:
        return 10 ** (self.width - 1)

    def user(self, index: int) -> str:
        return str(self.unit + index)

    def ring_group(self, index: int) -> str:
        return str(7 * self.unit + index)

    def queue(self, index: int) -> str:
        return str(8 * self.unit + index)

    def receptionist(self, index: int) -> str:
        return str(6 * self.unit + index)

    def trunk(self, index: int) -> str:
        return str(10 ** max(4, self.width) + index)

    def missing_extension(self, users: int, index: int) -> str:
        """An extension number in the user range that no user has."""
        return str(self.unit + users + 50 + index)


#: Two spellings of one US number (555-01xx: reserved for fiction), for contacts 12 and 13 of
#: every thousand.
_SAME_NUMBER_FORMS = ("+1 415 555 01{:02d}", "(415) 555-01{:02d}")


def e164(draw: int) -> str:
    prefix, digits = _E164_PATTERNS[draw % len(_E164_PATTERNS)]
    return prefix + str((draw >> 8) % 10**digits).zfill(digits)


def messy_number(draw: int) -> str:
    """A phone number as people type it: national formats, extensions, junk."""
    number = e164(draw)
    local = number[-7:]
    forms = [
        f"(0)20 7946 {local[-4:]}",
        f"0044 20 7946 {local[-4:]}",
        f"+44 (0) 20 7946 {local[-4:]}",
        f"415-555-{local[-4:]}",
        f"+1 (415) 555-{local[-4:]} ext. {local[:3]}",
        local[-5:],
        "+",
        "n/a",
        "++" + number[1:],
        f"{number} / {local[-2:]}",
        "0800 FLOWERS",
        f" {number} ",
    ]
    return forms[(draw >> 20) % len(forms)]


def phone(draw: int, valid: int = 70, messy: int = 20) -> str:
    """Valid E.164 `valid`% of the time, messy `messy`%, else empty."""
    bucket = draw % 100
    if bucket < valid:
        return e164(draw >> 7)
    if bucket < valid + messy:
        return messy_number(draw >> 7)
    return ""


def pick_name(rng: random.Random) -> tuple[str, str, str, str]:
    """(first, last, first_ascii, last_ascii) from one culture."""
    _, firsts, lasts = rng.choices(_CULTURES, weights=_CULTURE_WEIGHTS)[0]
    first, first_ascii = rng.choice(firsts)
    last, last_ascii = rng.choice(lasts)
    return first, last, first_ascii, last_ascii


def _email(first_ascii: str, last_ascii: str, domain: str, shout: bool) -> str:
    local = f"{first_ascii}.{last_ascii}"
    if shout:
        local = local.title()
        domain = domain.upper()
    return f"{local}@{domain}"


# --- eager sets --------------------------------------------------------------------------------


@dataclass
class Generated:
    groups: list[dict[str, Any]]
    users: list[dict[str, Any]]
    queues: list[dict[str, Any]]
    ring_groups: list[dict[str, Any]]
    receptionists: list[dict[str, Any]]
    trunks: list[dict[str, Any]]
    parkings: list[dict[str, Any]]
    next_dn_id: int
    next_membership_id: int


class _Ids:
    def __init__(self) -> None:
        self.dn = 1
        self.membership = 1

    def next_dn(self) -> int:
        self.dn += 1
        return self.dn - 1

    def next_membership(self) -> int:
        self.membership += 1
        return self.membership - 1


# Users at fixed positions, so that every seed has the awkward cases the tests rely on:
# (first, last, first_ascii, last_ascii, role, overrides)
_SPECIAL_USERS: list[tuple[str, str, str, str, str, dict[str, Any]]] = [
    (
        "Ada",
        "Lovelace",
        "ada",
        "lovelace",
        "system_owners",
        {"Require2FA": True, "Enable2FA": True},
    ),
    (
        "Siobhán",
        "O'Brien",
        "siobhan",
        "obrien",
        "system_admins",
        {"Require2FA": False, "Enable2FA": False},
    ),
    ("伟", "王", "wei", "wang", "users", {}),
    ("محمد", "العلي", "mohammed", "alali", "managers", {}),
    ("נועה", "כהן", "noa", "cohen", "users", {}),
    ("Zoë", "Müller", "zoe", "mueller", "users", {"Enabled": False, "IsRegistered": False}),
    ("Łukasz", "Dvořák", "lukasz", "dvorak", "users", {"EmailAddress": None, "Mobile": None}),
    (
        "Jean-Luc",
        "D'Angelo",
        "jean-luc",
        "dangelo",
        "group_owners",
        {"Require2FA": False, "Enable2FA": False},
    ),
    ("Grace", "McDonald", "grace", "mcdonald", "receptionists", {}),  # shares user 1's email
    ("Søren", "Østergaard", "soren", "ostergaard", "users", {"EmailAddress": "", "Mobile": ""}),
]
DISABLED_USER_INDEX = 5


def generate(seed: int, counts: dict[str, int], numbering: Numbering) -> Generated:
    ids = _Ids()
    groups = _groups(_rng(seed, "groups"), counts["groups"], ids, numbering)
    users = _users(_rng(seed, "users"), counts["users"], ids, numbering, groups)
    rng = _rng(seed, "routing")
    user_numbers = [user["Number"] for user in users]
    queues = [
        _queue(rng, index, ids, numbering, user_numbers, counts["users"])
        for index in range(counts["queues"])
    ]
    ring_groups = [
        _ring_group(rng, index, ids, numbering, user_numbers, counts["users"])
        for index in range(counts["ring_groups"])
    ]
    targets = [(q["Number"], "Queue") for q in queues]
    targets += [(r["Number"], "RingGroup") for r in ring_groups]
    receptionists = [
        _receptionist(rng, index, ids, numbering, targets, user_numbers, counts["users"])
        for index in range(counts["receptionists"])
    ]
    trunk_rng = _rng(seed, "trunks")
    trunks = [_trunk(trunk_rng, index, ids, numbering) for index in range(counts["trunks"])]
    default_group = groups[0]["Id"]
    parkings = [
        {
            "Id": ids.next_dn(),
            "Number": f"SP{index}",
            "Groups": [
                {
                    "Id": ids.next_membership(),
                    "GroupId": default_group,
                    "Rights": {"RoleName": "users"},
                }
            ],
        }
        for index in range(counts["parkings"])
    ]
    return Generated(
        groups, users, queues, ring_groups, receptionists, trunks, parkings, ids.dn, ids.membership
    )


def _rng(seed: int, purpose: str) -> random.Random:
    """One generator per purpose, so that more users do not reshuffle the queues."""
    return random.Random(f"{seed}:{purpose}")  # noqa: S311 - test data, not secrets


def _groups(rng: random.Random, count: int, ids: _Ids, numbering: Numbering) -> list[dict]:
    groups = []
    for index in range(count):
        name = "DEFAULT" if index == 0 else _GROUP_NAMES[(index - 1) % len(_GROUP_NAMES)]
        if index > len(_GROUP_NAMES):
            name = f"{name} {index // len(_GROUP_NAMES) + 1}"
        groups.append(
            {
                "Id": ids.next_dn(),
                "Number": f"GRP{index:04d}",
                "Name": name,
                "IsDefault": index == 0,
                "Language": rng.choice(_LANGUAGES),
                "TimeZoneId": rng.choice(["51", "51", "4", "35", "110"]),
                "AllowCallService": True,
                "GloballyVisible": index == 0,
                "CurrentGroupHours": "Default",
                "Props": complete(
                    "Pbx.GroupProps",
                    {
                        "UserNumberFrom": numbering.user(0),
                        "UserNumberTo": str(5 * numbering.unit - 1),
                        "SystemNumberFrom": str(6 * numbering.unit),
                        "SystemNumberTo": str(9 * numbering.unit - 1),
                        "LiveChatMaxCount": 20,
                        "PersonalContactsMaxCount": 500,
                        "PromptsMaxCount": 10,
                    },
                ),
                "Hours": complete("Pbx.Schedule", {"Type": "OfficeHours"}),
            }
        )
    return groups


def _users(
    rng: random.Random, count: int, ids: _Ids, numbering: Numbering, groups: list[dict]
) -> list[dict]:
    users: list[dict] = []
    vm_options = enum_members("Pbx.VMEmailOptionsType")
    office_hours = complete("Pbx.Schedule", {"Type": "OfficeHours"})  # shared: never mutated
    for index in range(count):
        overrides: dict[str, Any] = {}
        if index < len(_SPECIAL_USERS):
            first, last, first_ascii, last_ascii, role, overrides = _SPECIAL_USERS[index]
        else:
            first, last, first_ascii, last_ascii = pick_name(rng)
            role = rng.choices(ROLES, weights=[1, 2, 1, 2, 8, 4, 82])[0]
        group = groups[0] if index < 2 else groups[rng.randrange(len(groups))]
        admin = role in ADMIN_ROLES
        email_draw = rng.random() if index >= len(_SPECIAL_USERS) else 1.0
        if email_draw < 0.05:
            email: str | None = ""
        elif email_draw < 0.08:
            email = None
        else:
            email = _email(first_ascii, last_ascii, rng.choice(_DOMAINS), shout=rng.random() < 0.1)
        require_2fa = rng.random() < (0.8 if admin else 0.3)
        enabled = rng.random() < 0.95
        registered = enabled and rng.random() < 0.7
        user = {
            "Id": ids.next_dn(),
            "Number": numbering.user(index),
            "FirstName": first,
            "LastName": last,
            "DisplayName": f"{first} {last}",
            "EmailAddress": email,
            "Mobile": phone(rng.getrandbits(40), valid=60, messy=15),
            "OutboundCallerID": e164(rng.getrandbits(40)) if rng.random() < 0.3 else "",
            "Enabled": enabled,
            "Require2FA": require_2fa,
            "Enable2FA": require_2fa or rng.random() < 0.2,
            "VMEnabled": rng.random() < 0.9,
            "VMEmailOptions": rng.choice(vm_options),
            "Language": rng.choice(_LANGUAGES),
            "HideInPhonebook": rng.random() < 0.05,
            "Internal": rng.random() < 0.03,
            "IsRegistered": registered,
            "QueueStatus": "LoggedIn" if registered and rng.random() < 0.5 else "LoggedOut",
            "CurrentProfileName": rng.choices(PROFILE_NAMES, weights=[70, 15, 10, 3, 2])[0],
            "PrimaryGroupId": group["Id"],
            "Groups": [
                {"Id": ids.next_membership(), "GroupId": group["Id"], "Rights": {"RoleName": role}}
            ],
            "Tags": rng.choice(
                [[], [], [], [], ["MS"], ["Teams"], ["WeakPass"], ["WeakID", "WeakPass"]]
            ),
            "AuthID": _token(rng, 10),
            "AuthPassword": _token(rng, 10),
            "AccessPassword": _token(rng, 12),
            "DeskphonePassword": _token(rng, 8),
            "VMPIN": str(rng.randrange(1000, 999999)),
            "SendEmailMissedCalls": rng.random() < 0.5,
            "RecordCalls": rng.random() < 0.2,
            "PromptSet": "1e6ed594-af95-4bb4-af56-b957ac87d6d7",
            "Hours": office_hours,
            "SRTPMode": "SRTPDisabled",
            "TranscriptionMode": "Inherit",
            "PinProtectTimeout": 0,
        }
        if rng.random() < 0.4:
            model, template = rng.choice(_PHONE_MODELS)
            mac = "".join(f"{rng.randrange(256):02X}" for _ in range(6))
            user["Phones"] = [
                complete(
                    "Pbx.Phone",
                    {
                        "Id": user["Id"] * 10,
                        "MacAddress": mac,
                        "Name": model,
                        "TemplateName": template,
                        "Interface": "eth0",
                    },
                )
            ]
        user.update(overrides)
        users.append(user)
    if count > 8:
        # Two users sharing one mailbox, as happens when an assistant takes over a line.
        users[8]["EmailAddress"] = users[1]["EmailAddress"]
    return users


def _members(
    rng: random.Random, user_numbers: list[str], users: int, numbering: Numbering, index: int
) -> list[dict[str, Any]]:
    chosen = rng.sample(user_numbers, min(len(user_numbers), rng.randint(2, 6)))
    disabled = (
        user_numbers[DISABLED_USER_INDEX] if len(user_numbers) > DISABLED_USER_INDEX else None
    )
    if index == 0 and disabled and disabled not in chosen:
        chosen.append(disabled)
    members = [{"Number": number} for number in chosen]
    if index % 2 == 1 or len(members) < 2:
        # A member left the company; the queue still points at the old extension.
        members.append(
            {
                "Number": numbering.missing_extension(users, index),
                "Id": 900000 + index,
                "Name": None,
            }
        )
    return members


def _queue(rng, index, ids, numbering, user_numbers, users) -> dict[str, Any]:
    agents = _members(rng, user_numbers, users, numbering, index)
    for agent in agents:
        agent["SkillGroup"] = rng.choice(["", "1", "2"])
    managers = [{"Number": n} for n in rng.sample(user_numbers, min(len(user_numbers), 1))]
    return {
        "Id": ids.next_dn(),
        "Number": numbering.queue(index),
        "Name": _QUEUE_NAMES[index % len(_QUEUE_NAMES)],
        "PollingStrategy": rng.choice(enum_members("Pbx.PollingStrategyType")[:8]),
        "RingTimeout": rng.choice([15, 20, 30]),
        "MasterTimeout": rng.choice([300, 600, 1800]),
        "SLATime": rng.choice([30, 60, 120]),
        "MaxCallersInQueue": rng.choice([10, 25, 0]),
        "WrapUpTime": rng.choice([0, 10, 30]),
        "AnnounceQueuePosition": rng.random() < 0.5,
        "IsRegistered": True,
        "PriorityQueue": index == 0,
        "Agents": agents,
        "Managers": managers,
        "ForwardNoAnswer": complete("Pbx.Destination", {"To": "VoiceMail", "Type": "Queue"}),
        "TypeOfChatOwnershipType": "TakeManually",
    }


def _ring_group(rng, index, ids, numbering, user_numbers, users) -> dict[str, Any]:
    return {
        "Id": ids.next_dn(),
        "Number": numbering.ring_group(index),
        "Name": _RING_GROUP_NAMES[index % len(_RING_GROUP_NAMES)],
        "RingStrategy": rng.choice(enum_members("Pbx.StrategyType")),
        "RingTime": rng.choice([15, 20, 30]),
        "IsRegistered": True,
        "Members": _members(rng, user_numbers, users, numbering, index),
        "ForwardNoAnswer": complete("Pbx.Destination", {"To": "VoiceMail", "Type": "RingGroup"}),
    }


def _receptionist(rng, index, ids, numbering, targets, user_numbers, users) -> dict[str, Any]:
    dn_id = ids.next_dn()
    forwards = []
    for digit, (target, kind) in enumerate(targets[:5], start=1):
        forwards.append((str(digit), kind, target))
    forwards.append(("0", "Extension", user_numbers[0] if user_numbers else ""))
    forwards.append(("9", "Extension", numbering.missing_extension(users, 10 + index)))
    forwards.append(("*", "RepeatPrompt", ""))
    return {
        "Id": dn_id,
        "Number": numbering.receptionist(index),
        "Name": _IVR_NAMES[index % len(_IVR_NAMES)],
        "IVRType": "Default",
        "Timeout": rng.choice([5, 10, 15]),
        "TimeoutForwardDN": targets[0][0] if targets else "",
        "TimeoutForwardType": targets[0][1] if targets else "EndCall",
        "TimeoutForwardPeerType": targets[0][1] if targets else "None",
        "PromptFilename": f"ivr_{index}.wav",
        "IsRegistered": True,
        "Forwards": [
            complete(
                "Pbx.ReceptionistForward",
                {
                    "Id": dn_id * 100 + position,
                    "Input": digit,
                    "ForwardType": kind,
                    "ForwardDN": target,
                    "PeerType": kind if kind in ("Queue", "RingGroup", "Extension") else "None",
                },
            )
            for position, (digit, kind, target) in enumerate(forwards)
        ],
    }


def _trunk(rng: random.Random, index: int, ids: _Ids, numbering: Numbering) -> dict[str, Any]:
    name, host = _GATEWAYS[index % len(_GATEWAYS)]
    external = e164(rng.getrandbits(40))
    online = index == 0 or (index != 1 and rng.random() < 0.7)
    return {
        "Id": ids.next_dn(),
        "Number": numbering.trunk(index),
        "ExternalNumber": external,
        "DidNumbers": [e164(rng.getrandbits(40)) for _ in range(rng.randint(1, 6))],
        "Direction": "Both",
        "IsOnline": online,
        "AuthID": _token(rng, 10),
        "AuthPassword": {"Concealed": True, "Value": _token(rng, 16)},
        "EnableInboundCalls": True,
        "EnableOutboundCalls": index != 2,
        "SimultaneousCalls": rng.choice([4, 10, 30]),
        "E164CountryCode": rng.choice(["44", "1", "49"]),
        "ConfigurationIssue": "" if online else "Registration failed: 403 Forbidden",
        "Gateway": complete(
            "Pbx.Gateway",
            {
                "Id": index + 1,
                "Name": name,
                "Host": host,
                "Port": 5060,
                "Type": "Provider",
                "Codecs": ["PCMA", "PCMU", "G722"],
                "Lines": 10,
            },
        ),
    }


def _token(rng: random.Random, length: int) -> str:
    return base64.urlsafe_b64encode(rng.randbytes(length)).decode()[:length]


# --- lazy contacts -----------------------------------------------------------------------------


_MASK = (1 << 64) - 1
_WORD = (1 << 48) - 1


def _bits(seed: int, index: int) -> int:
    """512 well-mixed bits that depend only on (seed, index)."""
    digest = blake2b(b"%d:%d" % (seed, index), digest_size=64).digest()
    return int.from_bytes(digest, "little")


class ContactFactory:
    """Builds contact `index` from (seed, index) alone; counts how many it has built."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.built = 0
        self._people = [
            (first, last, first_ascii, last_ascii)
            for _, firsts, lasts in _CULTURES
            for first, first_ascii in firsts
            for last, last_ascii in lasts
        ]

    def make(self, index: int) -> dict[str, Any]:
        self.built += 1
        bits = _bits(self.seed, index)
        a = bits & _MASK
        company, domain = _COMPANIES[a % len(_COMPANIES)]
        first, last, first_ascii, last_ascii = self._people[(a >> 8) % len(self._people)]
        shape = (a >> 24) % 100
        if shape < 15:  # a company switchboard, no person
            first = last = ""
            email = f"info@{domain}"
        elif shape < 20:  # a bare number someone saved
            first, last, company, email = "", "", "", ""
        else:
            email = _email(first_ascii, last_ascii, domain, shout=(a >> 32) % 10 == 0)
            if (a >> 36) % 12 == 0:
                email = ""
        if index % 50 == 7:
            email = self.make(index - 1)["Email"]  # the same person, saved twice
        number = phone((bits >> 64) & _MASK, valid=70, messy=25)
        if index % 40 == 3 and index > 3:
            number = self.make(index - 3)["PhoneNumber"]  # a shared office number
        if index % 1000 in (11, 12):
            # The same person saved twice, the number typed two ways: equal once normalised.
            number = _SAME_NUMBER_FORMS[index % 1000 - 11].format((index // 1000 + 7) % 100)
        b = (bits >> 128) & _MASK
        return {
            "Id": index + 1,
            "FirstName": first,
            "LastName": last,
            "CompanyName": company,
            "Department": _DEPARTMENTS[b % len(_DEPARTMENTS)],
            "Title": _TITLES[(b >> 8) % len(_TITLES)],
            "Email": email,
            "PhoneNumber": number,
            "Business": phone((bits >> 160) & _WORD, valid=30, messy=10),
            "Business2": phone((bits >> 208) & _WORD, valid=3, messy=2),
            "BusinessFax": phone((bits >> 256) & _WORD, valid=5, messy=2),
            "Home": phone((bits >> 304) & _WORD, valid=8, messy=4),
            "Mobile2": phone((bits >> 352) & _WORD, valid=35, messy=10),
            "Other": phone((bits >> 400) & _WORD, valid=3, messy=3),
            "Pager": "",
            "Tag": _TAGS[(a >> 44) % len(_TAGS)],
            "ContactType": ("3CX", "3CX", "3CX", "3CX", "CRM", "Google", "M365")[(a >> 52) % 7],
        }
