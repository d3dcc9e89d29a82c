"""3. Calls forwarded to external numbers: the toll-fraud risk."""

from collections.abc import Iterator

from django.db.models import F, OuterRef, Subquery

from dashboard.directory.models import DirectoryRelation, EntryKind
from dashboard.reports.models import PhoneNumberVerdict, Severity
from dashboard.reports.phones import phone_verdicts_fill
from dashboard.reports.rules.base import AuditContext, Hit, Rule, entry_label, isolated

Kind = DirectoryRelation.Kind
EXTERNAL = "External"
FORWARDS = (Kind.FORWARDING, Kind.IVR_FORWARD)


def evaluate(ctx: AuditContext) -> Iterator[Hit]:
    external = ctx.relations(*FORWARDS).filter(target_type=EXTERNAL).exclude(target_number="")
    phone_verdicts_fill(region=ctx.region, texts=[external.annotate(raw=F("target_number"))])
    verdict = PhoneNumberVerdict.objects.filter(region=ctx.region, raw=OuterRef("target_number"))
    rows = (
        external.annotate(
            e164=Subquery(verdict.values("e164")[:1]),
            country=Subquery(verdict.values("country")[:1]),
        )
        .values(
            "kind",
            "label",
            "target_number",
            "e164",
            "country",
            "source__kind",
            "source__external_id",
            "source__number",
            "source__name",
        )
        .order_by("source__kind", "source__number", "pk")
    )
    for row in rows:
        source = entry_label(row["source__kind"], row["source__number"], row["source__name"])
        number, country = row["target_number"], row["country"] or ""
        # A number that parsed to another country, or to none (+800...), leaves the country.
        international = bool(row["e164"]) and country != ctx.region
        where = country or ("non-geographic" if row["e164"] else "country unknown")
        yield Hit(
            subject_kind=row["source__kind"],
            subject_external_id=row["source__external_id"],
            subject_key=(
                f"{row['source__kind']}:{row['source__external_id']}:{row['kind']}:"
                f"{row['label'][:100]}:{number}"
            ),
            subject_label=source,
            summary=(
                f"{source} forwards to {'international' if international else 'external'} "
                f"number {number} ({where})"
                + (f", {isolated(row['label'])}" if row["label"] else "")
            ),
            details={
                "number": number,
                "e164": row["e164"] or "",
                "country": country,
                "international": international,
                "label": row["label"],
                "relation": row["kind"],
            },
            severity=Severity.CRITICAL if international else None,
        )


RULES = (
    Rule(
        id="tollfraud.external_forwarding",
        title="Calls forwarded to external numbers",
        category=3,
        severity=Severity.HIGH,
        why=(
            "Every call forwarded to an outside number is a second call the company pays for. "
            "Toll fraud works exactly this way: an intruder with a user's password sets a "
            "forwarding rule to a premium or foreign number and calls in all night. Forwards "
            "to numbers outside the connection's country (its phone region) are critical; "
            "other external forwards are high, to be confirmed as intended."
        ),
        how_to_fix=(
            "Admin > Users > select the user > Forwarding Rules: check each status (Available, "
            "Away, Out of office...) and remove external numbers nobody asked for.",
            "Admin > Digital Receptionists > select the IVR: check menu options and the "
            "office-hours routes that go to an external number.",
            "Admin > Settings > Security > Allowed Country Codes: allow only the countries the "
            "company calls.",
        ),
        reads=(EntryKind.USER, EntryKind.IVR),
        evaluate=evaluate,
    ),
)
