"""The Jinhua decision as a GoRules zen-engine graph (JDM): decision tables for 附件2, 附件1 and the
retirement-age schedule, expression nodes for the rules. Optional: used by bench/run.py only when the
`zen` module (pip package zen-engine) can be imported; install it with

    .venv/bin/pip install --target bench/out/pydeps zen-engine

The graph decides valid claims whose decision date is on or after 2024-05-01; like most rule engines it
does not validate its input against a JSON Schema, so the benchmark gives it only claims the baseline
accepts, and compares it with the baseline's decision on those same claims.
"""
from __future__ import annotations

import itertools
import json
from decimal import Decimal

TABLE = [  # 附件2
    ("2-02-10-11", "junior", 128, 3300), ("2-02-10-11", "intermediate", 128, 3900),
    ("2-02-10-11", "senior", 160, 5200), ("2-02-10-15", "junior", 80, 2200),
    ("2-02-10-15", "intermediate", 64, 2400), ("2-02-10-15", "senior", 64, 2900),
    ("2-02-07-13", "junior", 90, 2300), ("2-02-07-13", "intermediate", 90, 2700),
    ("2-02-07-13", "senior", 80, 3300),
]
INSTITUTIONS = [("浙江大学", "2-02-10-15"), ("浙江工业大学", "2-02-07-13"), ("杭州电子科技大学", "2-02-10-11")]
RETIREMENT = [  # group, gradual table?, base years, first delayed birth year, birth months per step, max delay
    ("male", False, 60, 9999, 1, 0), ("female_55", False, 55, 9999, 1, 0), ("female_50", False, 50, 9999, 1, 0),
    ("male", True, 60, 1965, 4, 36), ("female_55", True, 55, 1970, 4, 36), ("female_50", True, 50, 1975, 2, 60),
]
RULES = ["occupation_catalogued", "institution_catalogued", "hours_completed", "level_certificate_matches",
         "certificates_held", "claim_place", "yearly_limit", "not_repeated", "not_public_staff", "at_least_16",
         "not_over_retirement_age", "no_pension", "within_deadline"]


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _table(node_id: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str]], rows: list[list]) -> dict:
    return {"id": node_id, "type": "decisionTableNode", "name": node_id, "position": {"x": 0, "y": 0},
            "content": {"hitPolicy": "first", "passThrough": True, "inputField": None, "outputPath": None,
                        "executionMode": "single",
                        "inputs": [{"id": i, "name": i, "type": "expression", "field": f} for i, f in inputs],
                        "outputs": [{"id": o, "name": o, "type": "expression", "field": f} for o, f in outputs],
                        "rules": [{"_id": f"{node_id}-{n}", **{col: cell for (col, _), cell in
                                                               zip(inputs + outputs, row, strict=True)}}
                                  for n, row in enumerate(rows)]}}


def _expressions(node_id: str, pairs: list[tuple[str, str]], pass_through: bool = True) -> dict:
    return {"id": node_id, "type": "expressionNode", "name": node_id, "position": {"x": 0, "y": 0},
            "content": {"passThrough": pass_through, "inputField": None, "outputPath": None,
                        "executionMode": "single",
                        "expressions": [{"id": f"{node_id}-{k}", "key": k, "value": v} for k, v in pairs]}}


def graph() -> dict:
    day = "d(applied_on)"
    birth = "d(applicant.birth_date)"
    nodes = [
        {"id": "request", "type": "inputNode", "name": "request", "position": {"x": 0, "y": 0}},
        _table("subsidy", [("occ", "training.occupation_code"), ("lvl", "training.level")],
               [("hours", "subsidy_hours"), ("amount", "subsidy_amount")],
               [[_q(o), _q(lv), str(h), str(a)] for o, lv, h, a in TABLE]),
        _table("institutions", [("inst", "training.institution"), ("occ", "training.occupation_code")],
               [("ok", "institution_ok")], [[_q(i), _q(o), "true"] for i, o in INSTITUTIONS]),
        _expressions("derive", [
            ("group", "applicant.sex == 'male' ? 'male' : (applicant.female_retirement_base == 50 ? 'female_50' "
                      ": 'female_55')"),
            ("gradual", f"{day}.isSameOrAfter(d('2025-01-01'))"),
            ("birth_year", f"{birth}.year()"),
            ("birth_month", f"{birth}.month()"),
            # 四.(四): only grants made by the decision date count (DOMAIN.md §4 "Per year")
            ("grants_this_year", f"count(history ?? [], d(#.granted_on).year() == {day}.year() and "
                                 f"d(#.granted_on).isSameOrBefore({day}))"),
            ("repeated", f"some(history ?? [], #.occupation_code == training.occupation_code and "
                         f"#.level == training.level and d(#.granted_on).isSameOrBefore({day}))"),
        ]),
        _table("retirement", [("grp", "group"), ("grad", "gradual")],
               [("base", "base_years"), ("first", "first_year"), ("step", "step"), ("most", "max_delay")],
               [[_q(g), "true" if gr else "false", str(b), str(f), str(s), str(m)]
                for g, gr, b, f, s, m in RETIREMENT]),
        _expressions("rules", [
            ("occupation_catalogued", "subsidy_hours != null"),
            ("institution_catalogued", "institution_ok == true"),
            ("hours_completed", "subsidy_hours == null or training.hours >= subsidy_hours"),
            ("level_certificate_matches", "level_certificate.occupation_code == training.occupation_code and "
                                          "level_certificate.level == training.level"),
            ("certificates_held", f"d(training.certificate.issued_on).isSameOrBefore({day}) and "
                                  f"d(level_certificate.issued_on).isSameOrBefore({day})"),
            ("claim_place", "(applicant.social_insurance != null and "
                            "startsWith(applicant.social_insurance.region, '3307') and "
                            "applicant.social_insurance.status == 'paying') or "
                            "(startsWith(applicant.hukou_region, '3307') and not applicant.employed) or "
                            "(applicant.graduate != null and applicant.graduate.full_time and "
                            f"applicant.graduate.graduation_year == {day}.year() and "
                            "startsWith(applicant.graduate.school_region, '3307'))"),
            ("yearly_limit", "grants_this_year < 3"),
            ("not_repeated", "not repeated"),
            ("not_public_staff", "not applicant.public_staff"),
            ("at_least_16", f"{birth}.add(16, 'y').isSameOrBefore({day})"),
            ("not_over_retirement_age",
             f"{day}.isSameOrBefore({birth}.add(base_years * 12 + "
             "((birth_year - first_year) * 12 + birth_month - 1 >= 0 ? "
             "min([max_delay, floor(((birth_year - first_year) * 12 + birth_month - 1) / step) + 1]) : 0), 'M'))"),
            ("no_pension", "not applicant.receiving_pension"),
            ("within_deadline", f"{day}.isSameOrBefore(d(level_certificate.issued_on).add(12, 'M'))"),
            ("amount_if_eligible", "subsidy_amount ?? 0"),
        ]),
        _expressions("decision", [
            ("failed_rules", "map(filter([" + ", ".join(f"{{id: '{r}', ok: {r}}}" for r in RULES)
             + "], not #.ok), #.id)"),
            ("amount_if_eligible", "amount_if_eligible"),
        ], pass_through=False),
        {"id": "response", "type": "outputNode", "name": "response", "position": {"x": 0, "y": 0}},
    ]
    order = ["request", "subsidy", "institutions", "derive", "retirement", "rules", "decision", "response"]
    edges = [{"id": f"e{i}", "sourceId": a, "targetId": b, "type": "edge"} for i, (a, b) in
             enumerate(itertools.pairwise(order))]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def make_decider():
    """A function claim -> (eligible, amount, failed rule ids), backed by one compiled zen decision."""
    import zen

    decision = zen.ZenEngine().create_decision(json.dumps(graph(), ensure_ascii=False))

    def decide(claim: dict):
        result = decision.evaluate(claim)["result"]
        failed = tuple(result["failed_rules"])
        eligible = not failed
        return eligible, (Decimal(int(result["amount_if_eligible"])) if eligible else Decimal(0)), failed

    return decide
