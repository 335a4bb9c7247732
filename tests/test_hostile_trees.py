"""Hostile and careless policy trees (issue 18): what an officer's slip, a tampered folder or a malicious file
under policies/ could do, and what the engine must do instead. Each test builds its own tree in tmp_path from
the fictional fixture store (tests/fixtures/store), or from the items of tests/hostile/trees/; big inputs (sparse
files, 40,000 brackets, 66,000 table rows) are made here, never committed. tests/hostile/README.md lists the items.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
TREES = ROOT / "tests" / "hostile" / "trees"
GOOD = ROOT / "tests" / "hostile" / "claims" / "good.json"
CITY = "jinhua/digital-engineer-subsidy"
PROVINCE = "zhejiang/digital-engineer"
PROVINCE_FILE = Path("zhejiang/digital-engineer/2023-09-16.yaml")
CITY_FILE = Path("jinhua/digital-engineer-subsidy/2024-05-01.yaml")


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the fixture store: tmp/policies and tmp/schemas."""
    shutil.copytree(FIXTURES / "store", tmp_path / "policies")
    shutil.copytree(FIXTURES / "schemas", tmp_path / "schemas")
    return tmp_path


def policy(tree: Path, *args, env: dict | None = None, stdin=None, timeout: float = 60,
           cache: bool = False) -> tuple[int, str, str]:
    """`policy --policies TREE/policies ARGS` in its own process, from TREE (paths print relative to it)."""
    environment = {**os.environ, "POLICY_CACHE": "1" if cache else "0",
                   "POLICY_CACHE_DIR": str(tree / "cache"), **(env or {})}
    environment.pop("POLICY_DEBUG", None)
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--policies", "policies", *map(str, args)],
                          cwd=tree, env=environment, capture_output=True, timeout=timeout,
                          stdin=stdin if stdin is not None else subprocess.DEVNULL)
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err and "internal error" not in out + err, (out + err)[-3000:]
    return done.returncode, out, err


def decide(tree: Path, *extra, **kw) -> tuple[int, list[dict], str]:
    rc, out, err = policy(tree, "evaluate", GOOD, "--policy", CITY, "--format", "json", *extra, **kw)
    return rc, [json.loads(line) for line in out.splitlines() if line.strip()], err


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def a_new_province_version(tree: Path, amount: str = "9900") -> str:
    """The provincial file as a new version from 2024-06-01 with the blockchain junior amount changed."""
    text = (tree / "policies" / PROVINCE_FILE).read_text(encoding="utf-8")
    text = text.replace('version: "2023-09-16"', 'version: "2024-06-01"').replace("  from: 2023-09-16",
                                                                                  "  from: 2024-06-01")
    return text.replace("junior, 80, 2200]", f"junior, 80, {amount}]")


# -------------------------------------------------------------------------------------------------
# Wrong answers: a misplaced file never becomes a version in silence


def test_a_good_claim_is_decided_in_the_fixture_tree(tree):
    rc, [decision], _ = decide(tree)
    assert rc == 0 and decision["eligible"] is True and decision["amount"] == "2200"


def test_a_misplaced_file_never_becomes_a_version(tree):
    # The case: policies/jinhua/notes/readme.yaml declaring a new provincial version.
    (tree / "policies" / "jinhua" / "notes").mkdir()
    (tree / "policies" / "jinhua" / "notes" / "readme.yaml").write_text(a_new_province_version(tree), encoding="utf-8")
    rc, out, err = policy(tree, "check")
    assert rc == 1
    assert "policies/jinhua/notes/readme.yaml:10:9: error[file.misplaced]" in out
    assert "move it to zhejiang/digital-engineer/2024-06-01.yaml" in out
    rc, decisions, err = decide(tree)
    assert rc == 1 and decisions == [] and "file.misplaced" in err  # refused, never 9,900


def test_a_file_whose_name_is_not_its_version(tree):
    (tree / "policies" / "zhejiang" / "digital-engineer" / "latest.yaml").write_text(a_new_province_version(tree),
                                                                                     encoding="utf-8")
    rc, out, _ = policy(tree, "check")
    assert rc == 1 and "error[file.misplaced]: the file says version 2024-06-01, but its name says latest" in out
    rc, decisions, _ = decide(tree)
    assert rc == 1 and decisions == []


def test_a_policy_file_at_the_top_of_the_folder(tree):
    (tree / "policies" / "readme.yaml").write_text(a_new_province_version(tree), encoding="utf-8")
    rc, out, _ = policy(tree, "check")
    assert rc == 1 and "policies/readme.yaml:10:9: error[file.misplaced]" in out


def test_the_right_place_is_a_new_version(tree):
    # The same file where it belongs is simply the next version: the check passes and the amount applies.
    (tree / "policies" / "zhejiang" / "digital-engineer" / "2024-06-01.yaml").write_text(
        a_new_province_version(tree, "2300"), encoding="utf-8")
    assert policy(tree, "check")[0] == 0
    rc, [decision], _ = decide(tree)
    assert rc == 0 and decision["amount"] == "2300"


def test_upper_case_extension_and_other_files_are_named(tree):
    folder = tree / "policies" / "zhejiang" / "digital-engineer"
    (folder / "2024-06-01.YAML").write_text(a_new_province_version(tree), encoding="utf-8")
    (folder / "notes.txt").write_text("not a policy\n", encoding="utf-8")
    rc, out, err = policy(tree, "check")
    assert rc == 1
    assert "policies/zhejiang/digital-engineer/2024-06-01.YAML: error[file.name]" in out
    assert "hint: rename it to 2024-06-01.yaml" in out
    assert "policies/zhejiang/digital-engineer/notes.txt: warning[file.ignored]" in out
    rc, out, err = policy(tree, "list")
    assert PROVINCE in out and "2024-06-01.YAML" in out  # marked as a policy with errors, not silently left out


def test_a_folder_link_inside_the_tree_is_reported_not_followed(tree, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "2024-06-01.yaml").write_text(a_new_province_version(tree), encoding="utf-8")
    (tree / "policies" / "shanghai").symlink_to(elsewhere, target_is_directory=True)
    rc, out, _ = policy(tree, "check")
    assert rc == 1 and "policies/shanghai: error[file.link]" in out and "in 6 policy versions" in _


def test_a_link_out_of_the_tree_is_never_read_or_printed(tree, tmp_path_factory):
    # A tampered tree: a link where a policy file belongs, pointing at a secret. Its content never appears.
    secret = tmp_path_factory.mktemp("home") / "credentials"
    secret.write_text("policy: [\naws_secret_access_key = TOPSECRET-1234\n", encoding="utf-8")
    (tree / "policies" / "zhejiang" / "digital-engineer" / "2024-06-01.yaml").symlink_to(secret)
    for args in (["check"], ["check", "--format", "json"], ["list"], ["show", PROVINCE],
                 ["evaluate", GOOD, "--policy", CITY]):
        rc, out, err = policy(tree, *args)
        assert "TOPSECRET" not in out + err and "aws_secret" not in out + err, args
    rc, out, _ = policy(tree, "check")
    assert rc == 1 and "policies/zhejiang/digital-engineer/2024-06-01.yaml: error[file.link]" in out


# -------------------------------------------------------------------------------------------------
# Wrong answers: a comment inside a folded expression


@pytest.mark.parametrize("style", [">-", ">", "plain", "double-quoted", "single-quoted"])
def test_a_comment_in_a_folded_expression_is_an_error(tree, style):
    first, second = "not applicant.public_staff  # the hours were given", "and false"
    written = {">-": f">-\n      {first}\n      {second}", ">": f">\n      {first}\n      {second}",
               "plain": f"not applicant.public_staff  #the hours\n      {second}".replace("  #", "#"),
               "double-quoted": f'"{first}\n      {second}"', "single-quoted": f"'{first}\n      {second}'"}[style]
    edit(tree / "policies" / CITY_FILE, "require: not applicant.public_staff", f"require: {written}")
    rc, out, _ = policy(tree, "check")
    assert rc == 1 and "error[syntax.folded_comment]" in out, out
    assert "require: |" in out  # the hint says how to write it
    rc, decisions, err = decide(tree)
    assert rc == 1 and decisions == []  # never eligible with `and false` lost


def test_a_comment_in_a_literal_block_ends_at_its_line(tree):
    edit(tree / "policies" / CITY_FILE, "require: not applicant.public_staff",
         "require: |\n      not applicant.public_staff  # a comment ends with its line\n      and false")
    rc, out, _ = policy(tree, "check")
    assert "folded_comment" not in out
    rc, [decision], _ = decide(tree)
    assert decision["eligible"] is False  # `and false` is read


def test_a_hash_inside_a_string_is_not_a_comment(tree):
    edit(tree / "policies" / CITY_FILE, "require: not applicant.public_staff",
         "require: >-\n      not applicant.public_staff\n      or \"#1\" == \"#2\"")
    rc, out, _ = policy(tree, "check")
    assert rc == 0, out


# -------------------------------------------------------------------------------------------------
# Wrong answers: the store cache is keyed by what was read


def test_an_edit_and_a_revert_while_the_store_is_read_leaves_no_entry(tree, monkeypatch):
    from engine.policies import cache
    from engine.policies.store import PolicyStore

    monkeypatch.setenv("POLICY_CACHE", "1")
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tree / "cache"))
    monkeypatch.chdir(tree)
    province = tree / "policies" / PROVINCE_FILE
    original = province.read_bytes()
    real_add = PolicyStore.add_file

    def edited_while_read(self, path, text=None, placed=False):  # an officer saves, then reverts, mid-read
        if Path(path).name == PROVINCE_FILE.name and text is None:
            province.write_bytes(original.replace(b"junior, 80, 2200]", b"junior, 80, 2900]"))
            try:
                return real_add(self, path, text, placed)
            finally:
                province.write_bytes(original)
        return real_add(self, path, text, placed)

    monkeypatch.setattr(PolicyStore, "add_file", edited_while_read)
    cache.load_store(tree / "policies", tree / "schemas")
    assert not list((tree / "cache").glob("store-*.pickle"))  # built from bytes no longer on disk: not kept
    monkeypatch.setattr(PolicyStore, "add_file", real_add)
    rc, [decision], _ = decide(tree, cache=True)
    assert decision["amount"] == "2200"  # what the files say
    assert list((tree / "cache").glob("store-*.pickle"))  # an undisturbed read is kept
    rc, [decision], _ = decide(tree, cache=True)
    assert decision["amount"] == "2200"


def test_a_same_size_edit_with_the_old_time_is_not_served_from_the_cache(tree):
    province = tree / "policies" / PROVINCE_FILE
    assert decide(tree, cache=True)[1][0]["amount"] == "2200"
    before = province.stat()
    edit(province, "junior, 80, 2200]", "junior, 80, 2900]")  # same size
    os.utime(province, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert decide(tree, cache=True)[1][0]["amount"] == "2900"


def test_a_named_pipe_as_the_cache_file_is_not_waited_for(tree):
    decide(tree, cache=True)
    [entry] = list((tree / "cache").glob("store-*.pickle"))
    entry.unlink()
    os.mkfifo(entry, 0o600)
    started = time.monotonic()
    rc, [decision], _ = decide(tree, cache=True, timeout=30)
    assert decision["amount"] == "2200" and time.monotonic() - started < 10


# -------------------------------------------------------------------------------------------------
# Hangs: what is not a regular file is named and never opened; a huge file is refused by its size


@pytest.mark.parametrize("cache", [False, True])
def test_a_named_pipe_in_the_tree_is_named_and_not_read(tree, cache):
    os.mkfifo(tree / "policies" / "zhejiang" / "digital-engineer" / "2024-06-01.yaml")
    started = time.monotonic()
    rc, out, _ = policy(tree, "check", cache=cache, timeout=30)
    assert rc == 1 and "2024-06-01.yaml: error[file.special]: this is a named pipe, not a policy file" in out
    rc, decisions, _ = decide(tree, cache=cache, timeout=30)
    assert rc == 1 and decisions == []  # the province may need it: refused, not decided without it
    rc, out, _ = policy(tree, "evaluate", GOOD, "--policy", "china/retirement-age", "--format", "json",
                        cache=cache, timeout=30)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("cache", [False, True])
def test_a_huge_sparse_file_is_refused_by_its_size(tree, cache):
    huge = tree / "policies" / "wenzhou" / "digital-engineer-subsidy" / "2025-01-01.yaml"
    with huge.open("wb") as handle:
        handle.truncate(64 * 1024 ** 3)  # 64 GiB of nothing: reading it whole would take minutes
    started = time.monotonic()
    rc, out, _ = policy(tree, "check", cache=cache, timeout=60)
    assert rc == 1 and "error[input.too_large]" in out and "68719476736 bytes" in out
    rc, [decision], _ = decide(tree, cache=cache, timeout=60)  # the city does not need the Wenzhou file
    assert rc == 0 and decision["amount"] == "2200"
    assert time.monotonic() - started < 20
