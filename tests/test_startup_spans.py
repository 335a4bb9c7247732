"""A fresh evaluator's first pass (issue 12): a decision date it has not met is decided by the program of its span
of days (between two days on which some version takes effect or ends) without resolving versions again. The
answers must be those of an evaluator that resolves every day afresh, on every side of every boundary, whatever
order the days come in."""
from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import yaml

from engine.api import Engine, Selection
from engine.language.builtins import add_days

ROOT = Path(__file__).resolve().parent.parent
POLICY = "jinhua/digital-engineer-subsidy"
CLAIM = yaml.safe_load((ROOT / "examples" / "eligible-blockchain-junior.yaml").read_text(encoding="utf-8"))


def _days(engine: Engine) -> list[date]:
    boundaries = set()
    for versions in engine.store.by_id.values():
        for v in versions:
            boundaries.add(v.effective_from)
            if v.effective_to is not None and v.effective_to < date.max:
                boundaries.add(add_days(v.effective_to, 1))
    days = {d + timedelta(days=k) for d in boundaries for k in (-1, 0, 1) if date.min < d < date.max}
    return sorted(days)


def test_every_day_around_every_boundary_is_decided_as_if_resolved_afresh():
    engine = Engine.load(ROOT / "policies")
    days = _days(engine)
    assert len(days) > 6
    shuffled = days[:]
    random.Random(12).shuffle(shuffled)
    for selection in (Selection(), Selection(known_on=date(2024, 9, 12)), Selection("2024-05-01", any_date=True)):
        one = engine.evaluator(POLICY, selection)
        reused = {day: one.evaluate(CLAIM, as_of=day).to_json() for day in shuffled}
        for day in days:
            fresh = Engine(engine.store).evaluator(POLICY, selection)  # nothing remembered: resolved for this day
            assert reused[day] == fresh.evaluate(CLAIM, as_of=day).to_json(), (selection, day)
