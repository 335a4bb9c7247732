"""The benchmark's baseline: the Jinhua training-subsidy decision written by hand in plain Python.

It decides a claim exactly as policies/jinhua/digital-engineer-subsidy/2024-05-01.yaml does (with the
provincial scheme it extends, zhejiang/digital-engineer 2023-09-16, and china/retirement-age 1978-06-02
and 2025-01-01), but straight from ../shared/DOMAIN.md and those files: no rule engine, no policy data
read at run time, and never `import engine`. It is what a developer would write instead of the engine,
so the engine is measured against it (issue 8) and checked against it on every benchmark claim.

    decide(claim: dict) -> Outcome | Rejected

A claim is the same plain JSON value the engine's Evaluator.evaluate() takes (dates as YYYY-MM-DD
strings). It is validated by hand against schemas/training-claim.schema.json (the engine validates it
too, so the comparison is like for like), dates are parsed once, and then every rule is decided.

Rejected(kind, code, path) stands where the engine returns a ClaimError:
  kind "invalid"      — a schema violation, or a failed input check (a resident identity number that fails
                        GB 11643 or disagrees with the birth date or sex; female_retirement_base given for a
                        man — the schema says women only; female_retirement_base missing for a woman);
  kind "not_in_force" — a decision date before 2024-05-01, when no Jinhua version is in force.
As in the engine, the schema comes first, then the version in force, then the input checks.

Resident identity numbers are checked as GB 11643-1999 defines them (DOMAIN.md §3): 17 digits and a
check character, the birth-date digits a calendar date, the ISO 7064 MOD 11-2 check character right.
The region digits are not looked up: a number keeps the code of the county that issued it, and codes
are created and retired over the years (330702 婺城区 exists only from 1985, yet people born in 1970
carry it).
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

POLICY_ID = "jinhua/digital-engineer-subsidy"
POLICY_VERSION = "2024-05-01"
CURRENCY = "CNY"

JINHUA_IN_FORCE_FROM = date(2024, 5, 1)  # 金人社发〔2024〕15号 施行
GRADUAL_RETIREMENT_FROM = date(2025, 1, 1)  # 渐进式延迟法定退休年龄
JINHUA_PREFIX = "3307"  # GB/T 2260: 金华市 330700 and its districts

# 浙人社发〔2023〕36号 附件2: (occupation code, level) -> (hours required, amount in yuan)
SUBSIDY = {
    ("2-02-10-11", "junior"): (128, Decimal(3300)),
    ("2-02-10-11", "intermediate"): (128, Decimal(3900)),
    ("2-02-10-11", "senior"): (160, Decimal(5200)),
    ("2-02-10-15", "junior"): (80, Decimal(2200)),
    ("2-02-10-15", "intermediate"): (64, Decimal(2400)),
    ("2-02-10-15", "senior"): (64, Decimal(2900)),
    ("2-02-07-13", "junior"): (90, Decimal(2300)),
    ("2-02-07-13", "intermediate"): (90, Decimal(2700)),
    ("2-02-07-13", "senior"): (80, Decimal(3300)),
}
# 附件1: institution -> the occupation code it is catalogued for
INSTITUTIONS = {
    ("浙江大学", "2-02-10-15"),
    ("浙江工业大学", "2-02-07-13"),
    ("杭州电子科技大学", "2-02-10-11"),
}

# Statutory retirement age. Before 2025: men 60, women 50 or 55 (years).
# From 2025 (the gradual table): (base years, first delayed birth year (January), birth months per step, max delay)
RETIREMENT_BEFORE_2025 = {"male": 60, "female_50": 50, "female_55": 55}
RETIREMENT_FROM_2025 = {
    "male": (60, 1965, 4, 36),
    "female_55": (55, 1970, 4, 36),
    "female_50": (50, 1975, 2, 60),
}

# Rule ids, in the order the engine reports them (provincial first, the city's override in place).
RULES = ("occupation_catalogued", "institution_catalogued", "hours_completed", "level_certificate_matches",
         "certificates_held", "claim_place", "yearly_limit", "not_repeated", "not_public_staff", "at_least_16",
         "not_over_retirement_age", "no_pension", "within_deadline")


class Outcome(NamedTuple):
    eligible: bool
    amount: Decimal
    failed_rules: tuple  # rule ids that failed, in RULES order
    decision_date: date


class Rejected(NamedTuple):
    kind: str  # invalid | not_in_force
    code: str
    path: str = ""


# -------------------------------------------------------------------------------------------------
# Calendar arithmetic (民法典 第二百零二条: a month period ends on the corresponding day, or the month's last day)


def add_months(d: date, months: int) -> date:
    return d + relativedelta(months=months)


def completed_years(birth: date, on: date) -> int:
    """Age in completed years on `on`; a 29 February birthday falls on 28 February in common years."""
    years = on.year - birth.year
    if birth + relativedelta(years=years) > on:
        years -= 1
    return years


def retirement_date(birth: date, sex: str, female_base: int, on: date) -> date:
    """The day the applicant reaches the statutory retirement age in force on `on`."""
    group = "male" if sex == "male" else ("female_50" if female_base == 50 else "female_55")
    if on < GRADUAL_RETIREMENT_FROM:
        months = RETIREMENT_BEFORE_2025[group] * 12
    else:
        base, first_year, step, most = RETIREMENT_FROM_2025[group]
        months = base * 12
        born_months_after_first = (birth.year - first_year) * 12 + birth.month - 1
        if born_months_after_first >= 0:  # 1965-01..04 (men): +1 month; each further 4 birth months: +1
            months += min(most, born_months_after_first // step + 1)
    return add_months(birth, months)


# -------------------------------------------------------------------------------------------------
# GB 11643-1999 resident identity numbers

_ID_WEIGHTS = tuple(2 ** (17 - i) % 11 for i in range(17))  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2


def id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits."""
    value = (12 - sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11) % 11
    return "X" if value == 10 else str(value)


def id_problem(number: str, birth: date, sex: str) -> bool:
    """True when the number is not a GB 11643 number, or disagrees with the birth date or the sex."""
    try:
        id_birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return True
    if id_check_character(number[:17]) != number[17]:
        return True
    return id_birth != birth or (int(number[16]) % 2 == 1) != (sex == "male")


# -------------------------------------------------------------------------------------------------
# Validation against schemas/training-claim.schema.json, by hand


class _Invalid(Exception):
    def __init__(self, path: str):
        self.path = path


_REGION = re.compile(r"[1-8][0-9]{5}")
_OCCUPATION = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LEVELS = frozenset(("junior", "intermediate", "senior"))
_STATUSES = frozenset(("paying", "suspended", "terminated"))

_TOP = frozenset(("claim_id", "applied_on", "applicant", "training", "level_certificate", "history"))
_TOP_REQUIRED = ("claim_id", "applied_on", "applicant", "training", "level_certificate")
_APPLICANT = frozenset(("id_number", "birth_date", "sex", "female_retirement_base", "hukou_region", "employed",
                        "public_staff", "receiving_pension", "social_insurance", "graduate"))
_APPLICANT_REQUIRED = ("birth_date", "sex", "hukou_region", "employed", "public_staff", "receiving_pension")
_INSURANCE = frozenset(("region", "status"))
_GRADUATE = frozenset(("school_region", "full_time", "graduation_year"))
_TRAINING = frozenset(("institution", "occupation_code", "level", "hours", "certificate"))
_CERTIFICATE = frozenset(("number", "issued_on"))
_LEVEL_CERTIFICATE = frozenset(("number", "occupation_code", "level", "issued_on"))
_GRANT = frozenset(("occupation_code", "level", "granted_on"))


def _obj(value, keys: frozenset, required, path: str) -> dict:
    if type(value) is not dict:
        raise _Invalid(path)
    if not keys.issuperset(value):
        raise _Invalid(path)
    for key in required:
        if key not in value:
            raise _Invalid(f"{path}.{key}")
    return value


def _date(value, path: str) -> date:
    if type(value) is not str or len(value) != 10 or not _DATE.fullmatch(value):
        raise _Invalid(path)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Invalid(path) from None


def _str(value, path: str, pattern=None) -> str:
    if type(value) is not str or (pattern is not None and not pattern.fullmatch(value)):
        raise _Invalid(path)
    return value


def _text(value, path: str) -> str:
    if type(value) is not str or not value:
        raise _Invalid(path)
    return value


def _bool(value, path: str) -> bool:
    if type(value) is not bool:
        raise _Invalid(path)
    return value


def _int(value, path: str, low: int, high: int) -> int:
    # JSON Schema "integer": a whole number (1.0 counts), never a boolean
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or not low <= value <= high:
        raise _Invalid(path)
    return value


def _level(value, path: str) -> str:
    if type(value) is not str or value not in _LEVELS:
        raise _Invalid(path)
    return value


# -------------------------------------------------------------------------------------------------
# The decision


def decide(claim) -> Outcome | Rejected:
    """Decide one Jinhua claim on its own decision date (applied_on)."""
    try:
        return _decide(claim)
    except _Invalid as bad:
        return Rejected("invalid", "claim.invalid", bad.path)


def _decide(c) -> Outcome | Rejected:
    # --- the schema, checking every value and parsing every date once ---
    _obj(c, _TOP, _TOP_REQUIRED, "claim")
    claim_id = c["claim_id"]
    if type(claim_id) is not str or not 1 <= len(claim_id) <= 64:
        raise _Invalid("claim_id")
    day = _date(c["applied_on"], "applied_on")

    a = _obj(c["applicant"], _APPLICANT, _APPLICANT_REQUIRED, "applicant")
    id_number = a.get("id_number")
    if id_number is not None:
        _str(id_number, "applicant.id_number", _ID_NUMBER)
    elif "id_number" in a:
        raise _Invalid("applicant.id_number")
    birth = _date(a["birth_date"], "applicant.birth_date")
    sex = a["sex"]
    if sex != "male" and sex != "female" or type(sex) is not str:
        raise _Invalid("applicant.sex")
    female_base = a.get("female_retirement_base")
    if "female_retirement_base" in a:
        if type(female_base) is float and female_base in (50.0, 55.0):
            female_base = int(female_base)
        if type(female_base) is not int or female_base not in (50, 55):
            raise _Invalid("applicant.female_retirement_base")
    hukou = _str(a["hukou_region"], "applicant.hukou_region", _REGION)
    employed = _bool(a["employed"], "applicant.employed")
    public_staff = _bool(a["public_staff"], "applicant.public_staff")
    pension = _bool(a["receiving_pension"], "applicant.receiving_pension")
    insurance = a.get("social_insurance")
    if "social_insurance" in a:
        _obj(insurance, _INSURANCE, ("region", "status"), "applicant.social_insurance")
        _str(insurance["region"], "applicant.social_insurance.region", _REGION)
        status = insurance["status"]
        if type(status) is not str or status not in _STATUSES:
            raise _Invalid("applicant.social_insurance.status")
    graduate = a.get("graduate")
    if "graduate" in a:
        _obj(graduate, _GRADUATE, ("school_region", "full_time", "graduation_year"), "applicant.graduate")
        _str(graduate["school_region"], "applicant.graduate.school_region", _REGION)
        _bool(graduate["full_time"], "applicant.graduate.full_time")
        _int(graduate["graduation_year"], "applicant.graduate.graduation_year", 1900, 2200)

    t = _obj(c["training"], _TRAINING, ("institution", "occupation_code", "level", "hours", "certificate"), "training")
    institution = _text(t["institution"], "training.institution")
    occupation = _str(t["occupation_code"], "training.occupation_code", _OCCUPATION)
    level = _level(t["level"], "training.level")
    hours = _int(t["hours"], "training.hours", 0, 10000)
    cert = _obj(t["certificate"], _CERTIFICATE, ("number", "issued_on"), "training.certificate")
    _text(cert["number"], "training.certificate.number")
    cert_issued = _date(cert["issued_on"], "training.certificate.issued_on")

    lc = _obj(c["level_certificate"], _LEVEL_CERTIFICATE, ("number", "occupation_code", "level", "issued_on"),
              "level_certificate")
    _text(lc["number"], "level_certificate.number")
    lc_occupation = _str(lc["occupation_code"], "level_certificate.occupation_code", _OCCUPATION)
    lc_level = _level(lc["level"], "level_certificate.level")
    lc_issued = _date(lc["issued_on"], "level_certificate.issued_on")

    # 四.(四) history: count this year's grants and look for the same occupation and level, while validating.
    # Only grants already made by the decision date count (granted_on <= decision date): a grant dated later
    # had not been granted when the claim is decided (as when a decision is reproduced with --as-of).
    grants_this_year = 0
    repeated = False
    if "history" in c:
        history = c["history"]
        if type(history) is not list or len(history) > 100000:
            raise _Invalid("history")
        year = day.year
        for i, g in enumerate(history):
            _obj(g, _GRANT, ("occupation_code", "level", "granted_on"), f"history[{i}]")
            g_occupation = _str(g["occupation_code"], f"history[{i}].occupation_code", _OCCUPATION)
            g_level = _level(g["level"], f"history[{i}].level")
            granted = _date(g["granted_on"], f"history[{i}].granted_on")
            if granted > day:
                continue
            if granted.year == year:
                grants_this_year += 1
            if g_occupation == occupation and g_level == level:
                repeated = True

    # --- the version in force on the decision date ---
    if day < JINHUA_IN_FORCE_FROM:
        return Rejected("not_in_force", "policy.not_in_force")

    # --- input checks, in the engine's order: the province's (inherited) first, then the city's ---
    if id_number is not None and id_problem(id_number, birth, sex):  # the schema checked 17 digits + [0-9X]
        return Rejected("invalid", "claim.invalid", "applicant.id_number")
    if sex == "male" and female_base is not None:  # 省: women only
        return Rejected("invalid", "claim.invalid", "applicant.female_retirement_base")
    if sex == "female" and female_base is None:  # 金: needed for the retirement age
        return Rejected("invalid", "claim.invalid", "applicant.female_retirement_base")

    # --- the rules ---
    failed = []
    row = SUBSIDY.get((occupation, level))
    if row is None:  # 附件2
        failed.append("occupation_catalogued")
    if (institution, occupation) not in INSTITUTIONS:  # 附件1, 二.(一)
        failed.append("institution_catalogued")
    if row is not None and hours < row[0]:  # 三.(四); not applicable without a row
        failed.append("hours_completed")
    if lc_occupation != occupation or lc_level != level:  # 三.(四)
        failed.append("level_certificate_matches")
    if cert_issued > day or lc_issued > day:  # 三.(四)
        failed.append("certificates_held")
    # 金 二.(一)/(二), replacing the province's place-of-claim rule
    insured_here = (insurance is not None and insurance["region"].startswith(JINHUA_PREFIX)
                    and insurance["status"] == "paying")
    unemployed_here = hukou.startswith(JINHUA_PREFIX) and not employed
    graduate_here = (graduate is not None and graduate["full_time"] and graduate["graduation_year"] == day.year
                     and graduate["school_region"].startswith(JINHUA_PREFIX))
    if not (insured_here or unemployed_here or graduate_here):
        failed.append("claim_place")
    if grants_this_year >= 3:  # 四.(四): at most 3 a year
        failed.append("yearly_limit")
    if repeated:  # 四.(四): the same occupation and level never twice
        failed.append("not_repeated")
    if public_staff:  # 金 二 不含
        failed.append("not_public_staff")
    if completed_years(birth, day) < 16:
        failed.append("at_least_16")
    if day > retirement_date(birth, sex, female_base if female_base is not None else 55, day):
        failed.append("not_over_retirement_age")
    if pension:
        failed.append("no_pension")
    if day > add_months(lc_issued, 12):  # 金 四: within 12 months from the level certificate's issue
        failed.append("within_deadline")

    eligible = not failed
    return Outcome(eligible, row[1] if eligible else Decimal(0), tuple(failed), day)


def summary(claim, result: Outcome | Rejected) -> dict:
    """One JSON-ready summary line, shaped like `policy evaluate --format json --summary`."""
    claim_id = claim.get("claim_id") if isinstance(claim, dict) else None
    if isinstance(result, Rejected):
        return {"claim_id": claim_id if isinstance(claim_id, str) else None,
                "error": {"code": result.code, "kind": result.kind, "path": result.path}}
    return {"claim_id": claim_id, "policy": {"id": POLICY_ID, "version": POLICY_VERSION},
            "decision_date": result.decision_date.isoformat(), "eligible": result.eligible,
            "amount": str(result.amount), "currency": CURRENCY, "failed_rules": list(result.failed_rules)}
