"""The floor of the benchmark: the Jinhua decision as a plain Python function that validates nothing.

    decide(claim: dict) -> (eligible, amount, failed_rules)

What a user of another rule engine compares with (issue 12): no JSON Schema, no input checks, no
explanation; it parses the dates it needs and applies the thirteen rules, exactly as bench/baseline.py
does after its validation (and with its tables). Only meaningful on valid claims in force: bench/run.py
checks it against bench/baseline.py on every claim it is timed on, before timing it.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from baseline import INSTITUTIONS, JINHUA_PREFIX, SUBSIDY, add_months, completed_years, retirement_date

_parse = date.fromisoformat


def decide(c: dict) -> tuple[bool, Decimal, tuple]:
    day = _parse(c["applied_on"])
    a, t, lc = c["applicant"], c["training"], c["level_certificate"]
    occupation, level = t["occupation_code"], t["level"]
    lc_issued = _parse(lc["issued_on"])
    failed = []
    row = SUBSIDY.get((occupation, level))
    if row is None:
        failed.append("occupation_catalogued")
    if (t["institution"], occupation) not in INSTITUTIONS:
        failed.append("institution_catalogued")
    if row is not None and t["hours"] < row[0]:
        failed.append("hours_completed")
    if lc["occupation_code"] != occupation or lc["level"] != level:
        failed.append("level_certificate_matches")
    if _parse(t["certificate"]["issued_on"]) > day or lc_issued > day:
        failed.append("certificates_held")
    insurance, graduate = a.get("social_insurance"), a.get("graduate")
    if not ((insurance is not None and insurance["region"].startswith(JINHUA_PREFIX)
             and insurance["status"] == "paying")
            or (a["hukou_region"].startswith(JINHUA_PREFIX) and not a["employed"])
            or (graduate is not None and graduate["full_time"] and graduate["graduation_year"] == day.year
                and graduate["school_region"].startswith(JINHUA_PREFIX))):
        failed.append("claim_place")
    this_year = repeated = 0
    for g in c.get("history", ()):
        granted = _parse(g["granted_on"])
        if granted <= day:
            this_year += granted.year == day.year
            repeated = repeated or (g["occupation_code"] == occupation and g["level"] == level)
    if this_year >= 3:
        failed.append("yearly_limit")
    if repeated:
        failed.append("not_repeated")
    if a["public_staff"]:
        failed.append("not_public_staff")
    birth = _parse(a["birth_date"])
    if completed_years(birth, day) < 16:
        failed.append("at_least_16")
    if day > retirement_date(birth, a["sex"], a.get("female_retirement_base", 55), day):
        failed.append("not_over_retirement_age")
    if a["receiving_pension"]:
        failed.append("no_pension")
    if day > add_months(lc_issued, 12):
        failed.append("within_deadline")
    return not failed, row[1] if not failed else Decimal(0), tuple(failed)
