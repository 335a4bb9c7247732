"""The Jinhua decision as one CEL (Common Expression Language) expression, compiled once. Optional: used by
bench/run.py only when the `cel_expr_python` module (pip package cel-expr-python, the CEL team's Python
wrapper of the official C++ implementation) can be imported; install it with

    .venv/bin/pip install --target bench/out/pydeps cel-expr-python

Like zen_jinhua.py, the expression decides valid claims whose decision date is on or after 2024-05-01: CEL
does no JSON Schema validation, so the benchmark gives it only claims the baseline accepts, and compares it
with the baseline's decision on those same claims.

What Python does and what CEL does, so the comparison is honest:
- Python passes the claim exactly as the other contenders get it (the dict parsed from JSON, dates as
  YYYY-MM-DD strings) as the one variable `claim`, and turns CEL's result into (eligible, Decimal amount,
  failed rule ids). Nothing about the claim is computed in Python before CEL sees it.
- CEL does everything else: the table lookups (附件2, 附件1, the retirement schedule, written as CEL map
  literals in the expression), parsing the dates (`timestamp()`), the history scan, the retirement age, the
  month arithmetic and every rule.

How the dates are handled, CEL having timestamps and durations but no calendar (month) arithmetic:
- "before / on or after" between two claim dates is a string comparison: YYYY-MM-DD strings of valid claims
  (the schema's pattern) sort in calendar order.
- Year, month and day come from `timestamp(s + 'T00:00:00Z')` (getFullYear / getMonth / getDate, in UTC).
- `on > add_months(d, n)` (month-end clamping, 民法典 第二百零二条) is decided without building the date:
  with ym = year * 12 + month, it holds iff ym(on) > ym(d) + n, or ym(on) == ym(d) + n and
  day(on) > day(d) (if d's day is clamped to a shorter month, `on` cannot be after the clamped day either).
  `add_months(d, n) <= on` (at_least_16) is its converse, and there clamping matters: in the target month it
  holds iff day(on) >= day(d) or `on` is that month's last day (`on + 1 day` is the 1st).

Limits of the C++ implementation met on the way (its defaults; cel.NewEnv in 0.1.3 does not expose them):
- the parser refuses nesting deeper than 32, so the derived values are bound in a few stages (`cel.bind`
  of a map per stage) rather than one `cel.bind` per value, and the rules are a map, not a chain of `+`;
- an evaluation may run at most 10,000 comprehension iterations, so the history is scanned once (the grants
  that matter are kept, then counted): a history longer than about 10,000 grants (the schema allows
  100,000; the generator's largest is 5,000) would fail with "Iteration budget exceeded".
"""
from __future__ import annotations

import json
from decimal import Decimal


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a CEL string literal


def _map(pairs) -> str:
    return "{" + ", ".join(f"{_q(k)}: {v}" for k, v in pairs) + "}"


def _ts(s: str) -> str:
    return f"timestamp({s} + 'T00:00:00Z')"


def _ym(t: str) -> str:
    return f"({t}.getFullYear() * 12 + {t}.getMonth())"


# The tables, written as CEL map literals (independently of baseline.py, so the agreement check covers them too).
TABLES = """{
  "subsidy": {
    "2-02-10-11/junior": [128, 3300], "2-02-10-11/intermediate": [128, 3900], "2-02-10-11/senior": [160, 5200],
    "2-02-10-15/junior": [80, 2200], "2-02-10-15/intermediate": [64, 2400], "2-02-10-15/senior": [64, 2900],
    "2-02-07-13/junior": [90, 2300], "2-02-07-13/intermediate": [90, 2700], "2-02-07-13/senior": [80, 3300]
  },
  "institutions": {"浙江大学/2-02-10-15": true, "浙江工业大学/2-02-07-13": true, "杭州电子科技大学/2-02-10-11": true},
  "retirement": {
    "male": [60, 60, 1965, 4, 36], "female_55": [55, 55, 1970, 4, 36], "female_50": [50, 50, 1975, 2, 60]
  }
}"""
# 附件2 "subsidy": "occupation/level" -> [hours required, amount in yuan]. 附件1 "institutions": the catalogued
# "institution/occupation" pairs. "retirement": group -> [base years before 2025, base years from 2025, first
# delayed birth year (January), birth months per step, most months of delay].
RULES = ("occupation_catalogued", "institution_catalogued", "hours_completed", "level_certificate_matches",
         "certificates_held", "claim_place", "yearly_limit", "not_repeated", "not_public_staff", "at_least_16",
         "not_over_retirement_age", "no_pension", "within_deadline")

STAGES = [  # (name, [(key, CEL expression)]): each stage may read the stages before it
    ("x", [
        ("a", "claim.applicant"), ("t", "claim.training"), ("lc", "claim.level_certificate"),
        ("day", "claim.applied_on"),
        ("today", _ts("claim.applied_on")), ("birth", _ts("claim.applicant.birth_date")),
        ("lc_day", _ts("claim.level_certificate.issued_on")),
        ("key", "claim.training.occupation_code + '/' + claim.training.level"),
        ("group", ("claim.applicant.sex == 'male' ? 'male' : "
                   "(claim.applicant.female_retirement_base == 50 ? 'female_50' : 'female_55')")),
    ]),
    ("y", [
        ("year", "x.today.getFullYear()"),
        ("today_ym", _ym("x.today")), ("birth_ym", _ym("x.birth")), ("lc_ym", _ym("x.lc_day")),
        ("row", "x.key in tables.subsidy ? tables.subsidy[x.key] : []"),
        ("r", "tables.retirement[x.group]"),
        # 四.(四): grants made by the decision date that count: this year's, and any of the same occupation and level
        ("history", ("has(claim.history) ? claim.history.filter(g, g.granted_on <= x.day && "
                     "(g.granted_on.startsWith(string(x.today.getFullYear()) + '-') || "
                     "(g.occupation_code == x.t.occupation_code && g.level == x.t.level))) : []")),
    ]),
    ("z", [
        # the statutory retirement age in months: before 2025 the base; from 2025 the gradual table
        ("retire_months", ("x.day < '2025-01-01' ? y.r[0] * 12 : y.r[1] * 12 + "
                           "(y.birth_ym < y.r[2] * 12 ? 0 : ((y.birth_ym - y.r[2] * 12) / y.r[3] + 1 < y.r[4] ? "
                           "(y.birth_ym - y.r[2] * 12) / y.r[3] + 1 : y.r[4]))")),
    ]),
]

CHECKS = {  # rule id -> CEL condition that must hold
    "occupation_catalogued": "y.row.size() > 0",
    "institution_catalogued": "(x.t.institution + '/' + x.t.occupation_code) in tables.institutions",
    "hours_completed": "y.row.size() == 0 || x.t.hours >= y.row[0]",
    "level_certificate_matches": "x.lc.occupation_code == x.t.occupation_code && x.lc.level == x.t.level",
    "certificates_held": "x.t.certificate.issued_on <= x.day && x.lc.issued_on <= x.day",
    "claim_place": "(has(x.a.social_insurance) && x.a.social_insurance.region.startsWith('3307') && "
                   "x.a.social_insurance.status == 'paying') || "
                   "(x.a.hukou_region.startsWith('3307') && !x.a.employed) || "
                   "(has(x.a.graduate) && x.a.graduate.full_time && x.a.graduate.graduation_year == y.year && "
                   "x.a.graduate.school_region.startsWith('3307'))",
    "yearly_limit": "y.history.filter(g, g.granted_on.startsWith(string(y.year) + '-')).size() < 3",
    "not_repeated": "!y.history.exists(g, g.occupation_code == x.t.occupation_code && g.level == x.t.level)",
    "not_public_staff": "!x.a.public_staff",
    # add_months(birth, 192) <= today
    "at_least_16": "y.today_ym > y.birth_ym + 192 || (y.today_ym == y.birth_ym + 192 && "
                   "(x.today.getDate() >= x.birth.getDate() || (x.today + duration('24h')).getDate() == 1))",
    # not today > add_months(birth, retire_months)
    "not_over_retirement_age": "!(y.today_ym > y.birth_ym + z.retire_months || "
                               "(y.today_ym == y.birth_ym + z.retire_months && x.today.getDate() > x.birth.getDate()))",
    "no_pension": "!x.a.receiving_pension",
    # not today > add_months(level certificate issued, 12)
    "within_deadline": "!(y.today_ym > y.lc_ym + 12 || "
                       "(y.today_ym == y.lc_ym + 12 && x.today.getDate() > x.lc_day.getDate()))",
}
assert tuple(CHECKS) == RULES


def source() -> str:
    """The whole decision as one CEL expression: {"failed_rules": [ids in RULES order], "amount": int}."""
    ids = "[" + ", ".join(_q(r) for r in RULES) + "]"
    body = (f"cel.bind(ok, {_map(CHECKS.items())}, cel.bind(failed, {ids}.filter(r, !ok[r]), "
            "{'failed_rules': failed, 'amount': failed.size() == 0 ? y.row[1] : 0}))")
    for name, pairs in reversed(STAGES):
        body = f"cel.bind({name}, {_map(pairs)}, {body})"
    return f"cel.bind(tables, {TABLES}, {body})"


def make_decider():
    """A function claim -> (eligible, amount, failed rule ids), backed by one compiled CEL expression."""
    from cel_expr_python import cel
    from cel_expr_python.ext.ext_bindings import ExtBindings

    env = cel.NewEnv(variables={"claim": cel.Type.DYN}, extensions=[ExtBindings()])
    program = env.compile(source())

    def decide(claim: dict):
        result = program.eval(data={"claim": claim}).plain_value()
        failed = tuple(result["failed_rules"])
        eligible = not failed
        return eligible, (Decimal(result["amount"]) if eligible else Decimal(0)), failed

    return decide
