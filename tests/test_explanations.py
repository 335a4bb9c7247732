"""Every error code is explained, and its examples are true (in the spirit of rustc's error index).

engine/core/explanations.yaml holds, for each code of the registry (engine/core/errors.py), what it means and
how to fix it in 简体中文 and English, and a wrong and a right example. Here each example is run as its
`check:` says: the wrong one must draw the code from `policy check` (or from deciding a claim), the right one
must not. A code with no example must say why; a code of a family checked from a policy file must have one
unless it is listed below with the reason.
"""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from engine.api import Engine, PolicyInvalid
from engine.claims.reader import read_claims
from engine.core.errors import CODES
from engine.core.explanations import CHECKS, FILE, explanations
from engine.decide.results import ClaimError
from tests.authoring_demo import CASES, POLICY, write_store
from tests.clirun import run_policy

ROOT = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load(POLICY)
BASE_CLAIM = yaml.safe_load(CASES)["base"]
DEMO_FILE = Path("policies/demo/grant/2024-01-01.yaml")
HOW_TO_ADD = f"""add an entry to {FILE.relative_to(ROOT)}:

{{code}}:
  zh: {{{{summary: 一句话概括, meaning: 含义, fix: 怎样改正}}}}
  en: {{{{meaning: what it means, fix: how to fix it}}}}
  check: policy        # how the examples are run: {' | '.join(CHECKS)} (see engine/core/explanations.py)
  wrong: |             # draws the code
    ...
  right: |             # the same, put right: does not draw it
    ...

or, when no snippet can draw it, `check: none` and `no_example: {{{{zh: 原因, en: why}}}}`."""

# Families whose codes come from checking a policy file: each needs examples that really draw it.
CHECKED_FAMILIES = {"syntax", "type", "name", "call", "clause", "table", "rule", "yaml", "schema", "version",
                    "override", "reference", "definition", "cost", "default", "has", "null", "export", "extends",
                    "facts", "input", "repeal"}
# ... except these, which no snippet can draw (each explanation's no_example says the same).
NOT_FROM_A_SNIPPET = {
    "input.unreadable",  # needs a file the system refuses to read
    "input.encoding",  # needs bytes that are not UTF-8, which a text example cannot hold
    "input.too_large",  # needs a file of more than the byte limit (4 MiB; the limit cannot be lowered that far)
}


def _merge(base, part):
    """`part` laid over `base`: mappings merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(part, dict):
        return {**base, **{key: _merge(base[key], value) if key in base else value for key, value in part.items()}}
    return part


def _policy(part: str) -> str:
    return yaml.safe_dump(_merge(BASE, yaml.safe_load(part)), allow_unicode=True, sort_keys=False)


def _files(text: str) -> dict[Path, str]:
    """The files of a `store` example: each begins after a line `# file: PATH` (the whole file) or `# part: PATH`
    (the demonstration policy with this part laid over it)."""
    files: dict[Path, list] = {}
    current = None
    for line in text.split("\n"):
        found = re.fullmatch(r"# (file|part): (\S+)", line)
        if found:
            current = Path(found.group(2))
            files[current] = [found.group(1), ""]
        elif current is not None:
            files[current][1] += line + "\n"
    assert files, "a `store` example names its files with lines `# file: PATH` or `# part: PATH`"
    return {path: _policy(body) if kind == "part" else body for path, (kind, body) in files.items()}


def _codes_checked_under(root: Path, limits: dict) -> set[str]:
    """`policy check --format json` under POLICY_LIMIT_* variables (the command reads them on every run)."""
    env = {**{name: str(value) for name, value in limits.items()}, "POLICY_LANG": "en"}
    done = run_policy("--policies", root / "policies", "--schemas", root / "schemas", "check", "--format", "json",
                      env=env)
    assert done.returncode in (0, 1), done.stderr
    return {json.loads(line)["code"] for line in done.stdout.decode().splitlines() if line.strip()}


def _check(root: Path, limits: dict) -> set[str]:
    if limits:
        return _codes_checked_under(root, limits)
    return {d.code for d in Engine.load(root / "policies", root / "schemas").check(today=date.today())}


def _decide(root: Path, claim_file: Path, limits: dict) -> set[str]:
    if limits:  # `policy evaluate --format json` under POLICY_LIMIT_* variables
        env = {**{name: str(value) for name, value in limits.items()}, "POLICY_LANG": "en"}
        done = run_policy("--policies", root / "policies", "--schemas", root / "schemas", "evaluate", claim_file,
                          "--policy", "demo/grant", "--format", "json", env=env)
        lines = [json.loads(line) for line in done.stdout.decode().splitlines() if line.startswith("{")]
        return {line["error"]["code"] for line in lines if "error" in line} | {
            problem["code"] for line in lines for problem in line.get("problems", [])} | (
            {"claim.unreadable"} if not lines else set())
    try:
        evaluator = Engine.load(root / "policies", root / "schemas").evaluator("demo/grant")
        results = [evaluator.evaluate_raw(raw) for raw in read_claims([str(claim_file)])]
    except PolicyInvalid as exc:
        return {d.code for d in exc.diagnostics}
    codes = set()
    for result in results:
        if isinstance(result, ClaimError):
            codes.add(result.code)
        else:
            codes |= {problem.code for problem in result.problems}
    return codes


def codes_drawn(entry, example: str, root: Path) -> set[str]:
    """The codes an example draws, run as its entry's `check:` says."""
    write_store(root)
    (root / "policies" / "demo" / "grant" / "2024-01-01.cases.yaml").unlink()
    in_files = example.startswith(("# file: ", "# part: "))
    if entry.check in ("policy", "decide") and not in_files:
        (root / DEMO_FILE).write_text(_policy(example), encoding="utf-8")
    elif entry.check == "file":
        (root / DEMO_FILE).write_text(example + "\n", encoding="utf-8")
    elif entry.check in ("store", "decide") or (entry.check == "claim" and in_files):
        for path, text in _files(example).items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
    if entry.check in ("policy", "file", "store"):
        return _check(root, entry.limits)
    claim = root / "claim.yaml"
    if entry.check == "claim":  # the claim file, after the policies and schemas it may bring along
        files = _files(example) if in_files else {Path("claim.yaml"): example + "\n"}
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        [claim] = [root / path for path in files if path.parts[0] not in ("policies", "schemas")]
    else:
        claim.write_text(yaml.safe_dump(BASE_CLAIM, allow_unicode=True), encoding="utf-8")
    return _decide(root, claim, entry.limits)


def test_every_registered_code_is_explained():
    missing = sorted(set(CODES) - set(explanations()))
    assert not missing, "codes without an explanation: " + ", ".join(missing) + "\n" + "\n\n".join(
        HOW_TO_ADD.format(code=code) for code in missing[:3])
    assert sorted(set(explanations()) - set(CODES)) == [], "explanations of codes the registry does not have"


def test_the_long_texts_are_kept_out_of_the_registry():
    inline = [c.code for c in CODES.values() if c.explanation or c.wrong or c.right]
    assert inline == [], f"move these codes' explanation, wrong and right to {FILE.name}: {inline}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_explanation_is_in_both_languages_and_its_examples_are_true(code, tmp_path):
    entry = explanations().get(code)
    assert entry is not None, HOW_TO_ADD.format(code=code)
    assert entry.check in CHECKS, f"{code}: check must be one of {CHECKS}, not {entry.check!r}"
    for lang in ("zh", "en"):
        for part in ("meaning", "fix"):
            assert entry.text(part, lang).strip() and entry.texts[lang].get(part), f"{code}: no {lang} {part}"
    assert re.search(r"[\u4e00-\u9fff]", entry.texts["zh"]["meaning"] + entry.texts["zh"]["fix"]), \
        f"{code}: the zh texts are not Chinese"
    assert entry.texts["zh"].get("summary"), f"{code}: no zh summary (the registry's summary is English)"
    if entry.check == "none":
        assert entry.no_example.get("zh") and entry.no_example.get("en"), \
            f"{code} has no example: say why in no_example: {{zh: ..., en: ...}}"
        assert CODES[code].family not in CHECKED_FAMILIES or code in NOT_FROM_A_SNIPPET, (
            f"{code} is checked from a policy file: give a wrong and a right example that `policy check` "
            "reproduces (or, if no snippet can draw it, add it to NOT_FROM_A_SNIPPET with the reason)")
        return
    assert entry.wrong and entry.right, f"{code}: check {entry.check} needs both wrong and right"
    wrong = codes_drawn(entry, entry.wrong, tmp_path / "wrong")
    assert code in wrong, f"{code}: the wrong example draws {sorted(wrong)}, not {code}"
    right = codes_drawn(entry, entry.right, tmp_path / "right")
    assert code not in right, f"{code}: the right example still draws it"
    errors = {c for c in right if CODES.get(c) is None or CODES[c].severity == "error"}
    if entry.check == "file":  # a short whole file: put right as far as its own family goes
        errors = {c for c in errors if c.split(".")[0] in (CODES[code].family, "input", "yaml")}
    assert not errors, f"{code}: the right example has other errors: {sorted(errors)}"


def test_policy_explain_shows_every_code_in_both_languages(capsys):
    from engine.cli import main as cli
    from engine.core.i18n import set_language

    try:
        for code, entry in sorted(explanations().items()):
            for lang, title in (("en", "What it means:"), ("zh", "含义：")):
                assert cli.main(["--lang", lang, "explain", code]) == 0
                out = capsys.readouterr().out
                assert out.startswith(f"{code} (") and title in out, (code, lang, out)
                assert entry.text("meaning", lang).split("\n")[0] in out
                if entry.check != "none":
                    assert entry.wrong.split("\n")[0] in out and entry.right.split("\n")[0] in out
                else:
                    assert entry.why_no_example(lang) in out
    finally:
        set_language(None)
