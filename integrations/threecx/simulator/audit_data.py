"""What an audit of the simulated PBX reads besides the directory: call routing (inbound and
outbound rules, DIDs, forwarding profiles, IVR routes), SIP devices, backups and the system
settings (licence, anti-hacking, backup schedule).

Deterministic like the rest: one `random.Random` per purpose. Every condition the audit rules
look for is present on purpose, at fixed places, on every seed large enough to hold it (see
the README's "Audit conditions" table): a forwarding profile to an international number, an
inbound rule to an extension that no longer exists, an unregistered desk phone, a licence
about to expire, weak anti-hacking settings, no emergency outbound rule...
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from .data import DISABLED_USER_INDEX, Generated, Numbering, _token
from .model import complete

#: The anti-hacking values a fresh 3CX V20 install ships with, as far as this simulator knows
#: (the spec has no descriptions; see the README). The demo PBX is weaker on every one.
ANTIHACKING_DEFAULTS: dict[str, Any] = {
    "SecurityDefenseProgram": True,
    "HackAuthRequests": 25,
    "HackChallengeRequests": 1000,
    "HackBlacklistDuration": 86400,
    "HackBarrierGreen": 2000,
    "HackBarrierAmber": 1000,
    "HackBarrierRed": 500,
    "MaxRequestPerPeriod": 500,
    "ThrottlePeriodLength": 10,
}
ANTIHACKING_WEAK: dict[str, Any] = {
    **ANTIHACKING_DEFAULTS,
    "SecurityDefenseProgram": False,
    "HackAuthRequests": 100,
    "HackChallengeRequests": 5000,
    "HackBlacklistDuration": 300,
}
#: A UK number (Ofcom's drama range): international for a PBX in the US demo region.
INTERNATIONAL_FORWARD = "+44 20 7946 0958"
#: A US number in the 555-01xx fiction range: external but national.
NATIONAL_FORWARD = "+1 212 555 0142"
IVR_OUT_OF_OFFICE = "+1 415 555 0188"
#: Users (by index) whose forwarding profiles carry the audit's conditions.
FORWARD_INTERNATIONAL_USER = 2
FORWARD_MISSING_USER = 3
FORWARD_DISABLED_USER = 4
FORWARD_NATIONAL_USER = 6
DUPLICATE_NAME_USERS = (11, 3)  # user 11 takes user 3's name
INVALID_MOBILE_USERS = {12: "12", 13: "n/a"}
#: Area codes for direct-dial numbers (555-01xx is reserved for fiction in each).
_DDI_AREAS = ("202", "303", "312", "404", "503", "602", "617", "702", "713", "801")
_PHONE_VENDORS = {
    "Yealink": "Yealink SIP-T46U 66.86.0.15",
    "Fanvil": "Fanvil X4U 2.12.1",
    "Snom": "snomD785/10.1.159.12",
}


def generate_audit(
    seed: int, generated: Generated, numbering: Numbering, fqdn: str, now: datetime
) -> dict[str, Any]:
    """Adds the audit's conditions to `generated` (in place: users, queues, ring groups, IVRs)
    and returns the new sets and settings: InboundRules, OutboundRules, DidNumbers,
    SipDevices, Backups, and the LicenseStatus, AntiHackingSettings, BackupSettings values."""
    users = generated.users
    _mark_users(users)
    _empty_last(generated.queues, "Agents")
    _empty_last(generated.ring_groups, "Members")
    _route_ivrs(generated.receptionists)
    missing = numbering.missing_extension(len(users), 20)
    _forwarding(users, missing)
    trunks = generated.trunks
    dids, ddis = _did_numbers(trunks, len(users))
    inbound = _inbound_rules(generated, dids, ddis, missing)
    return {
        "InboundRules": inbound,
        "OutboundRules": _outbound_rules(trunks, generated.groups),
        "DidNumbers": list(dids.values()),
        "SipDevices": _sip_devices(_rng(seed, "devices"), users, fqdn),
        "Backups": _backups(fqdn, now),
        "LicenseStatus": _licence(now),
        "AntiHackingSettings": dict(ANTIHACKING_WEAK),
        "BackupSettings": backup_settings(schedule_enabled=False),
    }


def destination(to: str, number: str = "", *, external: str = "", peer: str = "None") -> dict:
    """A Pbx.Destination: `to` is the DestinationType (VoiceMail, Extension, External...),
    `peer` the PeerType of the number it names (Extension, Queue, IVR...)."""
    return complete(
        "Pbx.Destination",
        {"To": to, "Number": number, "External": external, "Type": peer, "Name": ""},
    )


def backup_settings(*, schedule_enabled: bool) -> dict[str, Any]:
    return complete(
        "Pbx.BackupSettings",
        {
            "ScheduleEnabled": schedule_enabled,
            "Rotation": 5,
            "Schedule": complete(
                "Pbx.BackupSchedule",
                {"ScheduleType": "Daily", "Day": "Sunday", "Time": "02:00:00"},
            ),
            "Contents": complete(
                "Pbx.BackupContents",
                {
                    "CallHistory": True,
                    "FQDN": True,
                    "License": True,
                    "PhoneProvisioning": True,
                    "Prompts": True,
                    "VoiceMails": True,
                    "Recordings": False,
                    "EncryptBackup": False,
                },
            ),
        },
    )


def backup(fqdn: str, created: datetime, size: int) -> dict[str, Any]:
    name = f"3CXScheduledBackup-{created:%Y%m%d-%H%M}.zip"
    return {
        "FileName": name,
        "CreationTime": iso(created),
        "Size": size,
        "DownloadLink": f"https://{fqdn}/xapi/v1/Backups/{name}",
    }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- changes to the directory ------------------------------------------------------------------


def _mark_users(users: list[dict[str, Any]]) -> None:
    """Fixed users get the audit's awkward values; the random stream stays as it was."""
    copy_to, copy_from = DUPLICATE_NAME_USERS
    if len(users) > copy_to:
        for field in ("FirstName", "LastName", "DisplayName"):
            users[copy_to][field] = users[copy_from][field]
    for index, mobile in INVALID_MOBILE_USERS.items():
        if len(users) > index:
            users[index]["Mobile"] = mobile


def _empty_last(items: list[dict[str, Any]], members: str) -> None:
    """The last queue / ring group (of three or more) has nobody left in it."""
    if len(items) >= 3:
        items[-1][members] = []


def _route_ivrs(receptionists: list[dict[str, Any]]) -> None:
    """The first IVR sends out-of-office calls to a mobile; the last (of two or more) has no
    key targets at all, and hangs up on a timeout."""
    if receptionists:
        first = receptionists[0]
        first["BreakRoute"] = _route(destination("VoiceMail"))
        if first["TimeoutForwardType"] in ("Queue", "RingGroup"):
            kind = first["TimeoutForwardType"]
            first["HolidaysRoute"] = _route(destination(kind, first["TimeoutForwardDN"], peer=kind))
        first["OutOfOfficeRoute"] = _route(destination("External", external=IVR_OUT_OF_OFFICE))
    if len(receptionists) >= 2:
        last = receptionists[-1]
        last.update(
            Forwards=[],
            TimeoutForwardDN="",
            TimeoutForwardType="EndCall",
            TimeoutForwardPeerType="None",
        )


def _route(target: dict[str, Any]) -> dict[str, Any]:
    return complete("Pbx.Route", {"IsPromptEnabled": False, "Prompt": "", "Route": target})


def _forwarding(users: list[dict[str, Any]], missing: str) -> None:
    """Stored forwarding profiles for the users the audit should notice; the others get the
    defaults from `forwarding_profiles` when asked."""
    if len(users) <= max(FORWARD_NATIONAL_USER, DISABLED_USER_INDEX):
        return
    disabled = users[DISABLED_USER_INDEX]["Number"]
    special = {
        FORWARD_INTERNATIONAL_USER: ("Away", "External", _external(INTERNATIONAL_FORWARD)),
        FORWARD_NATIONAL_USER: ("Out of office", "External", _external(NATIONAL_FORWARD)),
        FORWARD_MISSING_USER: ("Available", "NoAnswerInternal", _extension(missing)),
        FORWARD_DISABLED_USER: ("Available", "BusyInternal", _extension(disabled)),
    }
    for index, (profile_name, field, target) in special.items():
        user = users[index]
        profiles = forwarding_profiles(user["Id"], user["Number"])
        for profile in profiles:
            if profile["Name"] != profile_name:
                continue
            route = "AvailableRoute" if field.startswith(("NoAnswer", "Busy")) else "AwayRoute"
            profile[route] = {**profile[route], field: target}
        user["ForwardingProfiles"] = profiles


def _external(number: str) -> dict[str, Any]:
    return destination("External", external=number)


def _extension(number: str) -> dict[str, Any]:
    return destination("Extension", number, peer="Extension")


def forwarding_profiles(user_id: int, number: str | None) -> list[dict[str, Any]]:
    """The five profiles every 3CX extension has, as a fresh one holds them: unanswered and
    busy calls go to the extension's own voicemail (a VoiceMail destination naming no number),
    away calls too. The route objects are shared between users: read them, never change them
    in place (`_forwarding` replaces them)."""
    template = _default_profile()
    names = ("Available", "Away", "Out of office", "Custom 1", "Custom 2")
    # Ids wrapped into int32 for users at the Id range's edges; the others keep theirs.
    return [
        {**template, "Id": (user_id * 10 + index) % 2**31, "Name": name}
        for index, name in enumerate(names)
    ]


@cache
def _default_profile() -> dict[str, Any]:
    voicemail = destination("VoiceMail")
    available = complete(
        "Pbx.AvailableRouting",
        {
            "NoAnswerAllCalls": True,
            "NoAnswerInternal": voicemail,
            "NoAnswerExternal": voicemail,
            "BusyAllCalls": True,
            "BusyInternal": voicemail,
            "BusyExternal": voicemail,
            "NotRegisteredAllCalls": True,
            "NotRegisteredInternal": voicemail,
            "NotRegisteredExternal": voicemail,
        },
    )
    away = complete(
        "Pbx.AwayRouting",
        {
            "AllHoursInternal": True,
            "AllHoursExternal": True,
            "Internal": voicemail,
            "External": voicemail,
        },
    )
    return complete(
        "Pbx.ForwardingProfile",
        {"Id": 0, "NoAnswerTimeout": 20, "AvailableRoute": available, "AwayRoute": away},
    )


# --- new sets ----------------------------------------------------------------------------------


def _did_numbers(
    trunks: list[dict[str, Any]], users: int
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The trunks' DIDs, then one direct-dial number per 25 users on the first trunk (those
    are also returned on their own, in order)."""
    dids: dict[str, dict[str, Any]] = {}
    for trunk in trunks:
        for number in trunk.get("DidNumbers", []):
            dids.setdefault(number, _did(number, trunk["Id"]))
    ddis = []
    if trunks:
        for index in range(users // 25):
            area = _DDI_AREAS[(index // 100) % len(_DDI_AREAS)]
            number = f"+1{area}55501{index % 100:02d}"
            if number not in dids:
                dids[number] = _did(number, trunks[0]["Id"])
                ddis.append(number)
    return dids, ddis


def _did(number: str, trunk_id: int) -> dict[str, Any]:
    return {"Number": number, "TrunkId": trunk_id, "TemplateFileName": ""}


def _inbound_rules(
    generated: Generated, dids: dict[str, dict[str, Any]], ddis: list[str], missing: str
) -> list[dict[str, Any]]:
    """Four rules on the trunks' own DIDs (one to a deleted extension, one to a disabled
    user), then one direct-dial rule per DDI, to every 25th user."""
    users, trunks = generated.users, generated.trunks
    trunk_dids = [number for number in dids if number not in set(ddis)]
    if not trunks or not trunk_dids:
        return []
    by_id = {trunk["Id"]: trunk for trunk in trunks}
    ivrs, queues = generated.receptionists, generated.queues
    voicemail = destination("VoiceMail")
    main = destination("IVR", ivrs[0]["Number"], peer="IVR") if ivrs else voicemail
    after = destination("IVR", ivrs[-1]["Number"], peer="IVR") if ivrs else voicemail
    sales = destination("Queue", queues[0]["Number"], peer="Queue") if queues else main
    rules = [
        ("Main number", main, after, after),
        ("Sales direct", sales, voicemail, after),
        # A fax line whose extension was deleted years ago.
        ("Old fax line", destination("Extension", missing, peer="Extension"), after, after),
    ]
    if len(users) > DISABLED_USER_INDEX:
        leaver = destination("Extension", users[DISABLED_USER_INDEX]["Number"], peer="Extension")
        rules.append(("Zoë's direct line", leaver, voicemail, after))
    items = []
    for index, (name, office, out_of_office, holidays) in enumerate(rules):
        number = trunk_dids[index % len(trunk_dids)]
        trunk = by_id[dids[number]["TrunkId"]]
        items.append(_inbound(index + 1, name, number, trunk, office, out_of_office, holidays))
    for index, number in enumerate(ddis):
        user = users[index * 25 + 1]
        target = destination("Extension", user["Number"], peer="Extension")
        away = voicemail if index % 4 == 0 else target
        trunk = by_id[dids[number]["TrunkId"]]
        items.append(
            _inbound(len(items) + 1, f"DDI {user['Number']}", number, trunk, target, away, away)
        )
    return items


def _inbound(key, name, did, trunk, office, out_of_office, holidays) -> dict[str, Any]:
    return complete(
        "Pbx.InboundRule",
        {
            "Id": key,
            "RuleName": name,
            "Data": did,
            "CallType": "AllCalls",
            "Condition": "BasedOnDID",
            "CustomData": "",
            "OfficeHoursDestination": office,
            "OutOfOfficeHoursDestination": out_of_office,
            "HolidaysDestination": holidays,
            "AlterDestinationDuringOutOfOfficeHours": True,
            "AlterDestinationDuringHolidays": True,
            "Hours": complete("Pbx.Schedule", {"Type": "OfficeHours"}),
            "TrunkDN": {"Id": trunk["Id"], "Number": trunk["Number"]},
        },
    )


def _outbound_rules(trunks: list[dict[str, Any]], groups: list[dict[str, Any]]) -> list[dict]:
    """Outbound rules without an emergency rule (3CX adds one for 911/112 on a fresh install;
    this PBX lost it)."""
    if not trunks:
        return []

    def route(trunk: dict[str, Any], strip: int = 0, prepend: str = "") -> dict[str, Any]:
        return complete(
            "Pbx.OutboundRoute",
            {
                "TrunkId": trunk["Id"],
                "TrunkName": trunk["Gateway"]["Name"],
                "StripDigits": strip,
                "Prepend": prepend,
                "Append": "",
                "CallerID": "",
            },
        )

    first, backup = trunks[0], trunks[-1]
    default_group = groups[0]
    rules = [
        ("International", "011", [route(first, 3, "+"), route(backup, 3, "+")]),
        ("Long distance", "1", [route(first), route(backup)]),
        ("All other calls", "", [route(trunk) for trunk in trunks[:3]]),
    ]
    return [
        complete(
            "Pbx.OutboundRule",
            {
                "Id": index + 1,
                "Name": name,
                "Prefix": prefix,
                "Priority": index + 1,
                "EmergencyRule": False,
                "NumberLengthRanges": "",
                "DNRanges": [],
                "GroupIds": [default_group["Id"]],
                "GroupNames": [default_group["Name"]],
                "Routes": routes,
            },
        )
        for index, (name, prefix, routes) in enumerate(rules)
    ]


def _sip_devices(rng: random.Random, users: list[dict[str, Any]], fqdn: str) -> list[dict]:
    """One device per desk phone of a user; registered when the user is. Plus a spare phone
    on the first extension that never registered (a phone left in a drawer)."""
    devices = []
    for user in users:
        registered = bool(user.get("IsRegistered"))
        for phone in user.get("Phones", []):
            mac, model = phone["MacAddress"], phone["Name"]
            devices.append(_device(rng, phone["Id"], user, mac, model, fqdn, registered=registered))
    if users:
        mac = "805EC0" + "".join(f"{rng.randrange(256):02X}" for _ in range(3))
        spare = max((d["Id"] for d in devices), default=0) + 1
        devices.append(_device(rng, spare, users[0], mac, "Yealink T46U", fqdn, registered=False))
    devices.sort(key=lambda device: device["Id"])
    return devices


def _device(rng, key, user, mac, model, fqdn, *, registered: bool) -> dict[str, Any]:
    vendor = model.split()[0]
    registrar = None
    if registered:
        registrar = complete(
            "Pbx.PhoneRegistrar",
            {
                "MAC": mac,
                "Vendor": vendor,
                "Model": model,
                "UserAgent": _PHONE_VENDORS.get(vendor, model),
                "FirmwareVersion": _PHONE_VENDORS.get(vendor, model).rsplit(" ", 1)[-1],
                "FirmwareAvailable": "",
                "IpAddress": f"10.0.{rng.randrange(1, 255)}.{rng.randrange(2, 255)}",
                "InterfaceLink": "",
                "Capabilities": 0,
            },
        )
    return {
        "Id": key,
        "DN": {"Id": user["Id"], "Number": user["Number"]},
        "Registrar": registrar,
        "ProvLink": f"https://{fqdn}/provisioning/{_token(rng, 12)}/{mac.lower()}.cfg",
        "PhoneWebPassword": _token(rng, 12),
    }


def _backups(fqdn: str, now: datetime) -> list[dict[str, Any]]:
    """Three weekly backups; the newest is nine days old (the schedule was switched off)."""
    night = now.replace(hour=2, minute=0, second=0, microsecond=0)
    return [
        backup(fqdn, night - timedelta(days=days), 734_003_200 + days * 1_048_576)
        for days in (23, 16, 9)
    ]


def _licence(now: datetime) -> dict[str, Any]:
    """Expiring in 20 days; maintenance ran out 12 days ago; still active."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return complete(
        "Pbx.LicenseStatus",
        {
            "Activated": True,
            "LicenseActive": True,
            "LicenseKey": "SIMU-LATO-R000-0001",
            "ProductCode": "3CXPSENT16",
            "ExpirationDate": iso(midnight + timedelta(days=20)),
            "MaintenanceExpiresAt": iso(midnight - timedelta(days=12)),
            "MaxSimCalls": 16,
            "SimMeetingParticipants": 25,
            "Support": False,
            "ResellerName": "Simulated Reseller Ltd",
            "CompanyName": "Acme Corp (simulated)",
            "ContactName": "Ada Lovelace",
            "EMail": "it@acme.example",
            "AdminEMail": "admin@acme.example",
            "Telephone": "+1 212 555 0100",
            "CountryCode": "US",
            "CountryName": "United States",
            "ActiveModules": [],
        },
    )


def _rng(seed: int, purpose: str) -> random.Random:
    return random.Random(f"{seed}:{purpose}")  # noqa: S311 - test data, not secrets
