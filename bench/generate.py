"""Deterministic synthetic claims for the Jinhua training subsidy, as JSON Lines on standard output.

    python bench/generate.py N [--seed S] > claims.jsonl

The same N and seed always give the same bytes, and the first N claims of a longer run are the same
claims: each claim depends only on the seed and its position. Claims are written as they are made
(O(1) memory), so a million claims cost no more memory than ten.

The mix (weights in KINDS) is meant to be realistic and to reach every rule of the Jinhua policy and
the provincial scheme it extends: eligible claims by each of the three routes of 金 二.(一)/(二); claims
failing each rule; boundary dates (the deadline day and the day after, the 16th birthday and the day
before, the retirement day and the day after under the pre-2025 ages and the 2025 gradual table);
leap days (29 February certificates and birthdays); histories of 0-5 grants and a few huge ones
(5,000 grants); histories holding grants dated after the decision date (not yet granted then, so not
counted) or on it (counted); suspended and terminated social insurance; invalid claims (ID check digit,
ID birth date or sex, impossible dates, missing or unknown keys, female applicants without their
retirement base, male applicants with one) and decision dates before 2024-05-01.
"""
from __future__ import annotations

import argparse
import random
import sys
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from stdnum.cn import ric

try:
    import orjson

    def _dumps(value) -> bytes:
        return orjson.dumps(value)
except ImportError:  # pragma: no cover - the project depends on orjson
    import json

    def _dumps(value) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

TABLE = {  # 附件2: (occupation code, level) -> hours
    ("2-02-10-11", "junior"): 128, ("2-02-10-11", "intermediate"): 128, ("2-02-10-11", "senior"): 160,
    ("2-02-10-15", "junior"): 80, ("2-02-10-15", "intermediate"): 64, ("2-02-10-15", "senior"): 64,
    ("2-02-07-13", "junior"): 90, ("2-02-07-13", "intermediate"): 90, ("2-02-07-13", "senior"): 80,
}
PAIRS = sorted(TABLE)
CATALOGUE = {"2-02-10-15": "浙江大学", "2-02-07-13": "浙江工业大学", "2-02-10-11": "杭州电子科技大学"}
OTHER_INSTITUTIONS = ["清华大学", "宁波大学", "金华职业技术学院", "某培训学校"]
UNKNOWN_OCCUPATIONS = ["2-02-10-12", "2-02-10-99", "4-04-05-01", "2-02-07-11"]
LEVELS = ["junior", "intermediate", "senior"]
JINHUA = ["330702", "330703", "330723", "330726", "330727", "330781", "330782", "330783", "330784"]
ZHEJIANG_ELSEWHERE = ["330106", "330102", "330110", "330203", "330302", "330402", "330522", "331002"]
OUT_OF_PROVINCE = ["110105", "310115", "320106", "340102", "440305", "510107"]

FIRST_DAY = date(2024, 5, 1)  # Jinhua in force
LAST_DAY = date(2026, 12, 31)
GRADUAL = date(2025, 1, 1)

KINDS = [  # (kind, weight)
    ("eligible_insured", 160), ("eligible_unemployed_hukou", 50), ("eligible_graduate", 50),
    ("fail_occupation_catalogued", 12), ("fail_institution_catalogued", 20), ("fail_hours_completed", 20),
    ("fail_level_certificate_matches", 15), ("fail_certificates_held", 15), ("fail_claim_place", 40),
    ("fail_yearly_limit", 20), ("fail_not_repeated", 20), ("fail_not_public_staff", 12), ("fail_at_least_16", 12),
    ("fail_not_over_retirement_age", 20), ("fail_no_pension", 12), ("fail_within_deadline", 20),
    ("boundary_deadline", 24), ("boundary_16th_birthday", 16), ("boundary_retirement", 40), ("leap_day", 20),
    ("several_failures", 20), ("random", 40), ("invalid", 30), ("before_in_force", 12), ("future_grants", 20),
]
_NAMES = [k for k, _ in KINDS]
_WEIGHTS = [w for _, w in KINDS]
_CUM = []
_total = 0
for _w in _WEIGHTS:
    _total += _w
    _CUM.append(_total)
HUGE_HISTORY = 5000  # grants in a huge history
HUGE_EVERY = 5000  # about one claim in this many has a huge history
SEVERAL = ["institution_catalogued", "hours_completed", "level_certificate_matches", "certificates_held",
           "claim_place", "yearly_limit", "not_repeated", "not_public_staff", "no_pension", "within_deadline"]


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def retirement_months(birth: date, sex: str, base: int, on: date) -> int:
    """Statutory retirement age in months (DOMAIN.md §3), to place boundary claims; the baseline decides."""
    years = 60 if sex == "male" else base
    if on < GRADUAL:
        return years * 12
    first_year, step, most = {"male": (1965, 4, 36), 55: (1970, 4, 36), 50: (1975, 2, 60)}[
        "male" if sex == "male" else base]
    after = (birth.year - first_year) * 12 + birth.month - 1
    return years * 12 + (min(most, after // step + 1) if after >= 0 else 0)


def id_number(rng: random.Random, region: str, birth: date, sex: str) -> str:
    """A GB 11643 number: region, birth date, a sequence whose parity gives the sex, the check character."""
    sequence = rng.randrange(0, 500) * 2 + (1 if sex == "male" else 0)
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum takes the number with a placeholder check character


class Generator:
    def __init__(self, seed: int, huge_every: int = HUGE_EVERY):
        self.seed = seed
        self.huge_every = huge_every

    # -- the pieces of a claim ---------------------------------------------------------------------

    def applicant(self, rng, day: date, route: str, age_years: tuple[int, int] | None = None,
                  birth: date | None = None, sex: str | None = None, base: int | None = None) -> dict:
        sex = sex or rng.choice(("male", "female"))
        if sex == "female" and base is None:
            base = rng.choice((50, 55, 55))
        if birth is None:
            if age_years is None:
                top = (60 if sex == "male" else base) - 1
                age_years = (21, 30) if route == "graduate" else (17, top)
            years = rng.randint(*age_years)
            birth = day - relativedelta(years=years) - timedelta(days=rng.randint(1, 364))
        a: dict = {}
        if route == "insured":
            hukou = rng.choice(JINHUA + ZHEJIANG_ELSEWHERE + OUT_OF_PROVINCE[:2])
            a = {"hukou_region": hukou, "employed": True,
                 "social_insurance": {"region": rng.choice(JINHUA), "status": "paying"}}
        elif route == "unemployed_hukou":
            a = {"hukou_region": rng.choice(JINHUA), "employed": False}
            if rng.random() < 0.3:
                a["social_insurance"] = {"region": rng.choice(JINHUA + ZHEJIANG_ELSEWHERE),
                                         "status": rng.choice(("suspended", "terminated"))}
        elif route == "graduate":
            a = {"hukou_region": rng.choice(ZHEJIANG_ELSEWHERE + OUT_OF_PROVINCE + JINHUA[:2]),
                 "employed": rng.random() < 0.4,
                 "graduate": {"school_region": rng.choice(JINHUA), "full_time": True, "graduation_year": day.year}}
        out = {}
        if rng.random() < 0.75:
            out["id_number"] = id_number(rng, a["hukou_region"], birth, sex)
        out["birth_date"] = birth.isoformat()
        out["sex"] = sex
        if sex == "female":
            out["female_retirement_base"] = base
        elif rng.random() < 0.02:
            out["female_retirement_base"] = 55  # given for a man: women only, so the claim is invalid
        out["hukou_region"] = a["hukou_region"]
        out["employed"] = a["employed"]
        out["public_staff"] = False
        out["receiving_pension"] = False
        for key in ("social_insurance", "graduate"):
            if key in a:
                out[key] = a[key]
        return out

    def training(self, rng, day: date, pair=None, lc_issued: date | None = None) -> tuple[dict, dict]:
        occupation, level = pair or rng.choice(PAIRS)
        if lc_issued is None:
            lc_issued = day - timedelta(days=rng.randint(0, 364))
        cert_issued = lc_issued - timedelta(days=rng.randint(0, 90))
        hours = TABLE.get((occupation, level), 80) + rng.choice((0, 0, 0, 2, 8, 16, 40))
        n = rng.randrange(1, 10 ** 6)
        training = {"institution": CATALOGUE.get(occupation, rng.choice(OTHER_INSTITUTIONS)),
                    "occupation_code": occupation, "level": level, "hours": hours,
                    "certificate": {"number": f"PX-{n:06d}", "issued_on": cert_issued.isoformat()}}
        level_certificate = {"number": f"DJ-{n:06d}", "occupation_code": occupation, "level": level,
                             "issued_on": lc_issued.isoformat()}
        return training, level_certificate

    def history(self, rng, day: date, pair, n: int | None = None, this_year_max: int = 2) -> list:
        if n is None:
            n = rng.choices((0, 1, 2, 3, 4, 5), (45, 20, 14, 10, 6, 5))[0]
        others = [p for p in PAIRS if p != pair]
        rng.shuffle(others)
        grants = []
        this_year = 0
        for occupation, level in others[:n]:
            if this_year < this_year_max and rng.random() < 0.4:
                granted = _day_between(rng, date(day.year, 1, 1), max(date(day.year, 1, 1), day - timedelta(days=1)))
                this_year += 1
            else:
                granted = _day_between(rng, date(day.year - 4, 1, 1), date(day.year - 1, 12, 31))
            grants.append({"occupation_code": occupation, "level": level, "granted_on": granted.isoformat()})
        return grants

    def claim(self, rng, index: int, day: date | None = None, route: str | None = None, **applicant) -> dict:
        day = day or _day_between(rng, FIRST_DAY, LAST_DAY)
        route = route or rng.choices(("insured", "unemployed_hukou", "graduate"), (6, 2, 2))[0]
        training, level_certificate = self.training(rng, day)
        pair = (training["occupation_code"], training["level"])
        c = {"claim_id": f"B{self.seed}-{index:08d}", "applied_on": day.isoformat(),
             "applicant": self.applicant(rng, day, route, **applicant),
             "training": training, "level_certificate": level_certificate}
        history = self.history(rng, day, pair)
        if history or rng.random() < 0.5:
            c["history"] = history
        return c

    # -- one claim of each kind ---------------------------------------------------------------------

    def make(self, index: int) -> dict:
        rng = random.Random(self.seed * 1_000_003 + index)
        if rng.random() * self.huge_every < 1:
            return self.huge_history(rng, index)
        kind = _NAMES[_bisect(_CUM, rng.random() * _total)]
        return getattr(self, kind)(rng, index)

    def eligible_insured(self, rng, i):
        return self.claim(rng, i, route="insured")

    def eligible_unemployed_hukou(self, rng, i):
        return self.claim(rng, i, route="unemployed_hukou")

    def eligible_graduate(self, rng, i):
        return self.claim(rng, i, route="graduate")

    # Each failing kind is an eligible-looking claim with one change (break_*), so that several_failures
    # can apply two or more changes to one claim.

    def break_occupation_catalogued(self, rng, c):
        code = rng.choice(UNKNOWN_OCCUPATIONS)
        c["training"]["occupation_code"] = c["level_certificate"]["occupation_code"] = code
        if rng.random() < 0.5:
            c["training"]["institution"] = rng.choice(OTHER_INSTITUTIONS)

    def break_institution_catalogued(self, rng, c):
        occupation = c["training"]["occupation_code"]
        wrong = [name for code, name in CATALOGUE.items() if code != occupation] + OTHER_INSTITUTIONS
        c["training"]["institution"] = rng.choice(wrong)  # e.g. 浙江大学 trains blockchain, not big data

    def break_hours_completed(self, rng, c):
        t = c["training"]
        needed = TABLE.get((t["occupation_code"], t["level"]), 80)
        t["hours"] = max(0, needed - rng.choice((1, 1, 2, 10, 40)))

    def break_level_certificate_matches(self, rng, c):
        lc = c["level_certificate"]
        if rng.random() < 0.5:
            lc["level"] = rng.choice([lv for lv in LEVELS if lv != lc["level"]])
        else:
            lc["occupation_code"] = rng.choice([code for code in CATALOGUE if code != lc["occupation_code"]])

    def break_certificates_held(self, rng, c):
        day = date.fromisoformat(c["applied_on"])
        later = (day + timedelta(days=rng.choice((1, 1, 5, 30)))).isoformat()
        if rng.random() < 0.5:
            c["level_certificate"]["issued_on"] = later
        else:
            c["training"]["certificate"]["issued_on"] = later

    def break_claim_place(self, rng, c):
        a = c["applicant"]
        a.pop("id_number", None)  # the hukou may change below; keep the claim valid
        a["employed"] = True
        a.pop("graduate", None)
        a["social_insurance"] = {"region": rng.choice(JINHUA), "status": "paying"}
        variant = rng.randrange(7)
        if variant == 0:  # insured elsewhere in the province
            a["social_insurance"]["region"] = rng.choice(ZHEJIANG_ELSEWHERE)
        elif variant == 1:  # insured in Jinhua but not paying
            a["social_insurance"]["status"] = rng.choice(("suspended", "terminated"))
        elif variant == 2:  # Jinhua hukou but employed (and insured out of the province)
            a["hukou_region"] = rng.choice(JINHUA)
            a["social_insurance"]["region"] = rng.choice(OUT_OF_PROVINCE)
        elif variant == 3:  # not employed, hukou elsewhere, no insurance
            a["employed"] = False
            a["hukou_region"] = rng.choice(ZHEJIANG_ELSEWHERE)
            del a["social_insurance"]
        else:  # a Jinhua graduate, but not of the decision date's year, or part-time, or a school elsewhere
            del a["social_insurance"]
            a["employed"] = rng.random() < 0.5
            a["hukou_region"] = rng.choice(ZHEJIANG_ELSEWHERE + OUT_OF_PROVINCE)
            year = date.fromisoformat(c["applied_on"]).year
            g = {"school_region": rng.choice(JINHUA), "full_time": True, "graduation_year": year}
            if variant == 4:
                g["graduation_year"] = year - rng.choice((1, 2))
            elif variant == 5:
                g["full_time"] = False
            else:
                g["school_region"] = rng.choice(ZHEJIANG_ELSEWHERE)
            a["graduate"] = g

    def break_yearly_limit(self, rng, c):
        day = date.fromisoformat(c["applied_on"])
        pair = (c["training"]["occupation_code"], c["training"]["level"])
        others = [p for p in PAIRS if p != pair]
        rng.shuffle(others)
        grants = [{"occupation_code": o, "level": lv,
                   "granted_on": _day_between(rng, date(day.year, 1, 1), day).isoformat()}
                  for o, lv in others[:rng.choice((3, 3, 4))]]
        c["history"] = grants + self.history(rng, day, pair, this_year_max=0)[:2]

    def break_not_repeated(self, rng, c):
        day = date.fromisoformat(c["applied_on"])
        t = c["training"]
        granted = _day_between(rng, date(day.year - 3, 1, 1), day)
        c.setdefault("history", []).append({"occupation_code": t["occupation_code"], "level": t["level"],
                                            "granted_on": granted.isoformat()})

    def break_not_public_staff(self, rng, c):
        c["applicant"]["public_staff"] = True

    def break_no_pension(self, rng, c):
        c["applicant"]["receiving_pension"] = True

    def break_within_deadline(self, rng, c):
        day = date.fromisoformat(c["applied_on"])
        issued = day - relativedelta(months=12) - timedelta(days=rng.choice((1, 2, 30, 200)))
        c["level_certificate"]["issued_on"] = issued.isoformat()
        c["training"]["certificate"]["issued_on"] = (issued - timedelta(days=rng.randint(0, 60))).isoformat()

    def _failing(self, rng, i, rule):
        c = self.claim(rng, i)
        getattr(self, "break_" + rule)(rng, c)
        return c

    def fail_occupation_catalogued(self, rng, i):
        return self._failing(rng, i, "occupation_catalogued")

    def fail_institution_catalogued(self, rng, i):
        return self._failing(rng, i, "institution_catalogued")

    def fail_hours_completed(self, rng, i):
        return self._failing(rng, i, "hours_completed")

    def fail_level_certificate_matches(self, rng, i):
        return self._failing(rng, i, "level_certificate_matches")

    def fail_certificates_held(self, rng, i):
        return self._failing(rng, i, "certificates_held")

    def fail_claim_place(self, rng, i):
        return self._failing(rng, i, "claim_place")

    def fail_yearly_limit(self, rng, i):
        return self._failing(rng, i, "yearly_limit")

    def fail_not_repeated(self, rng, i):
        return self._failing(rng, i, "not_repeated")

    def fail_not_public_staff(self, rng, i):
        return self._failing(rng, i, "not_public_staff")

    def fail_no_pension(self, rng, i):
        return self._failing(rng, i, "no_pension")

    def fail_within_deadline(self, rng, i):
        return self._failing(rng, i, "within_deadline")

    def fail_at_least_16(self, rng, i):
        return self.claim(rng, i, route=rng.choice(("insured", "unemployed_hukou")), age_years=(13, 15))

    def fail_not_over_retirement_age(self, rng, i):
        sex = rng.choice(("male", "female"))
        base = rng.choice((50, 55)) if sex == "female" else None
        years = 60 if sex == "male" else base
        return self.claim(rng, i, route=rng.choice(("insured", "unemployed_hukou")), sex=sex, base=base,
                          age_years=(years + 4, years + 9))

    def several_failures(self, rng, i):
        c = self.claim(rng, i)
        for rule in rng.sample(SEVERAL, rng.choice((2, 2, 3, 4))):
            getattr(self, "break_" + rule)(rng, c)
        return c

    def boundary_deadline(self, rng, i):
        # the level certificate's issue date + 12 months, clamped (2024-01-31 → 2025-01-31; 2024-02-29 →
        # 2025-02-28), and the day after; certificates issued on month ends most of the time
        if rng.random() < 0.7:
            month = date(rng.choice((2024, 2025)), rng.randint(1, 12), 1)
            issued = month + relativedelta(months=1) - timedelta(days=rng.choice((1, 1, 2)))
        else:
            issued = _day_between(rng, date(2023, 6, 1), date(2025, 12, 31))
        last = issued + relativedelta(months=12)
        day = last + timedelta(days=rng.choice((0, 1)))
        if day < FIRST_DAY:
            day = last = FIRST_DAY
        c = self.claim(rng, i, day=day)
        c["level_certificate"]["issued_on"] = issued.isoformat()
        c["training"]["certificate"]["issued_on"] = (issued - timedelta(days=rng.randint(0, 30))).isoformat()
        return c

    def boundary_16th_birthday(self, rng, i):
        day = _day_between(rng, FIRST_DAY, LAST_DAY)
        birth = day - relativedelta(years=16) + timedelta(days=rng.choice((0, 0, 1, 1, -1)))
        return self.claim(rng, i, day=day, route=rng.choice(("insured", "unemployed_hukou")), birth=birth)

    def boundary_retirement(self, rng, i):
        # the retirement day itself (reached, not exceeded) and the day after, under the table in force on
        # the decision date: before 2025 (men 60, women 50/55) or the 2025 gradual table; births late in
        # the month often, so that birth date + N months is clamped to a shorter month's end
        sex = rng.choice(("male", "female"))
        base = rng.choice((50, 55)) if sex == "female" else None
        years = 60 if sex == "male" else base
        candidates = []
        while not candidates:
            if rng.random() < 0.3:  # reaching the age from May to December 2024
                birth = _day_between(rng, date(2024 - years, 5, 1), date(2024 - years, 12, 31))
            else:  # born in or near the first delayed cohorts, reaching the age from 2025
                birth = _day_between(rng, date(2024 - years, 6, 1), date(2028 - years, 12, 31))
            if rng.random() < 0.4:
                birth = birth.replace(day=1) + relativedelta(months=1) - timedelta(days=rng.randint(1, 3))
            for table_day in (date(2024, 12, 31), GRADUAL):
                retire = birth + relativedelta(months=retirement_months(birth, sex, base or 55, table_day))
                for day in (retire, retire + timedelta(days=1)):
                    if day >= FIRST_DAY and (day < GRADUAL) == (table_day < GRADUAL):
                        candidates.append(day)
        return self.claim(rng, i, day=rng.choice(candidates), route=rng.choice(("insured", "unemployed_hukou")),
                          birth=birth, sex=sex, base=base)

    def leap_day(self, rng, i):
        variant = rng.randrange(4)
        route = rng.choice(("insured", "unemployed_hukou"))
        if variant == 0:  # level certificate on 2024-02-29: the last day to claim is 2025-02-28
            c = self.claim(rng, i, day=rng.choice((date(2025, 2, 28), date(2025, 3, 1), date(2024, 5, 1))))
            c["level_certificate"]["issued_on"] = "2024-02-29"
            c["training"]["certificate"]["issued_on"] = rng.choice(("2024-02-29", "2024-01-15"))
            return c
        if variant == 1:  # born on 29 February (or next to it), around a birthday in a common or a leap year
            birth = rng.choice((date(2008, 2, 29), date(2012, 2, 29), date(2009, 2, 28), date(2009, 3, 1),
                                date(2004, 2, 29), date(1988, 2, 29)))
            day = rng.choice((date(2025, 2, 27), date(2025, 2, 28), date(2025, 3, 1), date(2026, 2, 28),
                              date(2026, 3, 1), date(2028, 2, 28), date(2028, 2, 29)))
            return self.claim(rng, i, day=day, birth=birth, route=route)
        if variant == 2:  # born on 29 February, at the retirement boundary
            sex, base, birth = rng.choice((("male", None, date(1964, 2, 29)), ("male", None, date(1968, 2, 29)),
                                           ("female", 55, date(1972, 2, 29)), ("female", 50, date(1976, 2, 29)),
                                           ("female", 50, date(1972, 2, 29)), ("female", 55, date(1968, 2, 29)),
                                           ("female", 50, date(1980, 2, 29))))
            on = date(2024, 12, 31) if birth.year == 1964 or (birth.year == 1972 and base == 50) else GRADUAL
            retire = birth + relativedelta(months=retirement_months(birth, sex, base or 55, on))
            day = max(FIRST_DAY, retire + timedelta(days=rng.choice((0, 1))))
            return self.claim(rng, i, day=day, birth=birth, sex=sex, base=base, route=route)
        c = self.claim(rng, i, day=_day_between(rng, FIRST_DAY, date(2025, 2, 28)))
        c["training"]["certificate"]["issued_on"] = "2024-02-29"  # training certificate on the leap day
        if date.fromisoformat(c["level_certificate"]["issued_on"]) < date(2024, 2, 29):
            c["level_certificate"]["issued_on"] = "2024-03-01"
        return c

    def random(self, rng, i):
        # loosely random facts: any institution, occupation, level, region, status, age, dates
        day = _day_between(rng, FIRST_DAY, LAST_DAY)
        c = self.claim(rng, i, day=day, route=rng.choice(("insured", "unemployed_hukou", "graduate")),
                       age_years=(14, 66))
        a, t, lc = c["applicant"], c["training"], c["level_certificate"]
        a.pop("id_number", None)
        a["hukou_region"] = rng.choice(JINHUA + ZHEJIANG_ELSEWHERE + OUT_OF_PROVINCE)
        a["employed"] = rng.random() < 0.6
        a["public_staff"] = rng.random() < 0.1
        a["receiving_pension"] = rng.random() < 0.1
        if rng.random() < 0.7:
            a["social_insurance"] = {"region": rng.choice(JINHUA + ZHEJIANG_ELSEWHERE + OUT_OF_PROVINCE),
                                     "status": rng.choice(("paying", "paying", "suspended", "terminated"))}
        t["institution"] = rng.choice(list(CATALOGUE.values()) + OTHER_INSTITUTIONS[:1])
        t["occupation_code"] = rng.choice(list(CATALOGUE) + UNKNOWN_OCCUPATIONS[:1])
        t["level"] = rng.choice(LEVELS)
        t["hours"] = rng.randint(40, 200)
        lc["occupation_code"] = t["occupation_code"] if rng.random() < 0.85 else rng.choice(list(CATALOGUE))
        lc["level"] = t["level"] if rng.random() < 0.85 else rng.choice(LEVELS)
        lc["issued_on"] = (day - timedelta(days=rng.randint(-20, 500))).isoformat()
        t["certificate"]["issued_on"] = (day - timedelta(days=rng.randint(-10, 600))).isoformat()
        return c

    def before_in_force(self, rng, i):
        # Jinhua has no version in force before 2024-05-01: neither eligible nor ineligible
        day = rng.choice((date(2024, 4, 30), _day_between(rng, date(2023, 9, 16), date(2024, 4, 30)),
                          _day_between(rng, date(2022, 1, 1), date(2023, 9, 15))))
        c = self.claim(rng, i, day=day)
        if rng.random() < 0.3:  # an ID with a bad check digit is still "not in force", not "invalid"
            _break_check_digit(c, rng)
        return c

    def future_grants(self, rng, i):
        # 四.(四) counts only grants already made by the decision date (granted_on <= decision date): a grant dated
        # later (as when a decision is reproduced with --as-of after the history grew) is not counted; one dated
        # on the decision date itself is
        c = self.claim(rng, i)
        day = date.fromisoformat(c["applied_on"])
        pair = (c["training"]["occupation_code"], c["training"]["level"])
        others = [p for p in PAIRS if p != pair]
        rng.shuffle(others)

        def grant(p, on):
            return {"occupation_code": p[0], "level": p[1], "granted_on": on.isoformat()}

        this_year = date(day.year, 1, 1)
        variant = rng.randrange(4)
        if variant == 0:  # the claim's own grant, made days or months after the decision date: not a repeat
            grants = [grant(pair, day + timedelta(days=rng.randint(1, 90)))]
        elif variant == 1:  # two this year by the decision date, one or two after it: under the limit
            grants = [grant(p, _day_between(rng, this_year, day)) for p in others[:2]]
            grants += [grant(p, day + timedelta(days=rng.randint(1, 400))) for p in others[2:2 + rng.choice((1, 2))]]
        elif variant == 2:  # the third grant this year on the decision date itself: the limit is reached
            grants = [grant(p, _day_between(rng, this_year, day)) for p in others[:2]] + [grant(others[2], day)]
        else:  # the same occupation and level granted on the decision date itself: a repeat
            grants = [grant(pair, day)]
        grants += self.history(rng, day, pair, this_year_max=0)[:2]  # earlier years only
        rng.shuffle(grants)
        c["history"] = grants
        return c

    def huge_history(self, rng, i):
        c = self.claim(rng, i)
        day = date.fromisoformat(c["applied_on"])
        pair = (c["training"]["occupation_code"], c["training"]["level"])
        others = [p for p in PAIRS if p != pair] + [(code, lv) for code in UNKNOWN_OCCUPATIONS for lv in LEVELS]
        grants = []
        for _ in range(HUGE_HISTORY):
            occupation, level = rng.choice(others)
            granted = _day_between(rng, date(1990, 1, 1), date(day.year - 1, 12, 31))
            grants.append({"occupation_code": occupation, "level": level, "granted_on": granted.isoformat()})
        if rng.random() < 0.5:  # one of them this year, or the very same occupation and level long ago
            grants[rng.randrange(HUGE_HISTORY)] = {"occupation_code": pair[0], "level": pair[1],
                                                    "granted_on": "1999-09-09"}
        c["history"] = grants
        return c

    def invalid(self, rng, i):
        c = self.claim(rng, i, route="insured")
        a = c["applicant"]
        variant = rng.randrange(13)
        if variant in (0, 1):  # wrong check digit
            if "id_number" not in a:
                a["id_number"] = id_number(rng, a["hukou_region"], date.fromisoformat(a["birth_date"]), a["sex"])
            _break_check_digit(c, rng)
        elif variant == 2:  # the ID's birth date disagrees with birth_date
            birth = date.fromisoformat(a["birth_date"])
            a["id_number"] = id_number(rng, a["hukou_region"], birth + timedelta(days=rng.choice((1, -1, 365))),
                                       a["sex"])
        elif variant == 3:  # the ID's sequence says the other sex
            birth = date.fromisoformat(a["birth_date"])
            a["id_number"] = id_number(rng, a["hukou_region"], birth, "female" if a["sex"] == "male" else "male")
        elif variant == 4:  # impossible dates
            where = rng.randrange(4)
            # also forms Python's date.fromisoformat would take (a week date, no dashes) and a year 0
            bad = rng.choice(("2023-02-29", "2025-02-29", "2024-04-31", "2024-13-01", "2024-6-1", "2024/06/01",
                              "2024-W24-6", "20240615", "0000-01-01"))
            if where == 0:
                c["applied_on"] = bad
            elif where == 1:
                a["birth_date"] = bad
                a.pop("id_number", None)
            elif where == 2:
                c["level_certificate"]["issued_on"] = bad
            else:
                c["training"]["certificate"]["issued_on"] = bad
        elif variant == 5:  # a woman without her original retirement base
            a["sex"] = "female"
            a.pop("female_retirement_base", None)
            a.pop("id_number", None)
        elif variant == 6:  # a required fact missing
            rng.choice((lambda: a.pop("employed"), lambda: c.pop("level_certificate"),
                        lambda: c["training"].pop("hours"), lambda: a.pop("birth_date")))()
        elif variant == 7:  # a value out of its enumeration or range
            rng.choice((lambda: c["training"].__setitem__("level", "expert"),
                        lambda: a.__setitem__("sex", "unknown"),
                        lambda: c["training"].__setitem__("hours", -5),
                        lambda: a.__setitem__("female_retirement_base", 60),
                        lambda: a["social_insurance"].__setitem__("status", "paid")))()
        elif variant == 8:  # a malformed region or occupation code (a final line break passes Python's `$`)
            rng.choice((lambda: a.__setitem__("hukou_region", "3307"),
                        lambda: a["social_insurance"].__setitem__("region", "930702"),
                        lambda: c["training"].__setitem__("occupation_code", "2-2-10-15"),
                        lambda: a.__setitem__("hukou_region", a["hukou_region"] + "\n")))()
        elif variant == 9:  # an unknown key
            rng.choice((lambda: a.__setitem__("nationality", "CN"), lambda: c.__setitem__("note", "urgent")))()
        elif variant == 10:  # a wrong type
            rng.choice((lambda: a.__setitem__("employed", "yes"), lambda: c["training"].__setitem__("hours", "80"),
                        lambda: c.__setitem__("history", {})))()
        elif variant == 11:  # a bad grant in the history
            c.setdefault("history", []).append({"occupation_code": "2-02-10-11", "level": "junior",
                                                "granted_on": "2024-02-30"})
        else:  # a man who states a female retirement base: women only
            a["sex"] = "male"
            a["female_retirement_base"] = rng.choice((50, 55))
            a.pop("id_number", None)
        return c


def _break_check_digit(c: dict, rng) -> None:
    a = c["applicant"]
    if "id_number" not in a:
        a["id_number"] = id_number(rng, a["hukou_region"], date.fromisoformat(a["birth_date"]), a["sex"])
    number = a["id_number"]
    wrong = rng.choice([d for d in "0123456789X" if d != number[-1]])
    a["id_number"] = number[:-1] + wrong


def _bisect(cumulative: list, x: float) -> int:
    lo, hi = 0, len(cumulative)
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def claims(n: int, seed: int = 1, huge_every: int = HUGE_EVERY):
    """The first n claims for this seed, one at a time."""
    gen = Generator(seed, huge_every)
    for i in range(n):
        yield gen.make(i)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of claims")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--huge-every", type=int, default=HUGE_EVERY,
                        help=f"about one claim in this many has a history of {HUGE_HISTORY} grants "
                             f"(default {HUGE_EVERY})")
    args = parser.parse_args(argv)
    out = sys.stdout.buffer
    buffer = []
    for claim in claims(args.n, args.seed, args.huge_every):
        buffer.append(_dumps(claim))
        if len(buffer) >= 512:
            out.write(b"\n".join(buffer) + b"\n")
            buffer.clear()
    if buffer:
        out.write(b"\n".join(buffer) + b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
