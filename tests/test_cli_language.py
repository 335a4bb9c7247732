"""The command line in 简体中文 and English: help, click's own words about a wrong command line, and each
command's messages, chosen by --lang (anywhere on the line) or the locale; codes and JSON stay the same."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml

from engine.cli import main as cli
from engine.core.i18n import set_language

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "tests" / "fixtures" / "store"
POLICY = "jinhua/digital-engineer-subsidy"


@pytest.fixture(autouse=True)
def english_locale(monkeypatch):
    """No language from the machine running the tests: each test says which it wants."""
    for variable in ("POLICY_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    yield
    set_language(None)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["--policies", str(STORE), *args])
    out, err = capsys.readouterr()
    return code, out, err


def unwrapped(text: str) -> str:
    """Help text with its lines joined again, as Chinese joins them: without a space."""
    return "".join(line.strip() for line in text.splitlines())


# -- help and click's own words ----------------------------------------------------------------------------------


def test_help_is_in_the_language_asked_for(capsys):
    code, out, _ = run(capsys, "--lang", "zh", "--help")
    assert code == 0
    assert out.startswith("用法： policy [OPTIONS] COMMAND [ARGS]...")
    assert "选项：" in out and "命令：" in out
    assert "检查、查看和执行以数据形式编写、分版本管理的政策。" in out
    assert "  check     检查政策文件\n" in out  # a command's first clause, not cut at a space
    assert "-h, --help       显示本帮助并退出。" in out
    code, out, _ = run(capsys, "--lang", "en", "--help")
    assert out.startswith("Usage: policy [OPTIONS] COMMAND [ARGS]...")
    assert "Options:" in out and "Commands:" in out
    assert "Check, inspect and evaluate versioned policies written as data." in out
    assert "Show this message and exit." in out


def test_a_command_s_help_and_its_options_are_translated_wherever_lang_is_written(capsys):
    code, out, _ = run(capsys, "check", "--help", "--lang", "zh")  # --lang after --help: still Chinese
    assert code == 0
    assert "用法： policy check [OPTIONS] [PATHS]..." in out
    assert "检查政策文件：结构、表达式、类型、引用、版本和条款覆盖。" in out
    assert "每当政策文件或模式文件保存时重新检查（按 Ctrl-C 停止）。" in unwrapped(out)
    assert "text 供人阅读，json（每行一个对象）供程序读取。" in out
    _, out, _ = run(capsys, "check", "--help", "--lang", "en")
    assert "Check again whenever a policy or schema file is saved (Ctrl-C stops)." in " ".join(out.split())


@pytest.mark.parametrize("columns", [80, 100])
def test_chinese_help_fits_the_terminal_and_breaks_where_chinese_breaks(capsys, monkeypatch, columns):
    from engine.cli.helptext import CLOSING, OPENING, width

    monkeypatch.setenv("COLUMNS", str(columns))
    for command in ([], ["evaluate"], ["check"], ["test"], ["show"], ["new"], ["serve"], ["grant"], ["ledger"]):
        code, out, _ = run(capsys, "--lang", "zh", *command, "--help")
        assert code == 0
        lines = out.splitlines()
        assert max(width(line) for line in lines) <= columns - 2, command  # as wide as click makes English help
        assert not [line for line in lines if line.strip() and line.strip()[0] in CLOSING], command
        assert not [line for line in lines if line.strip() and line.rstrip()[-1] in OPENING], command
    _, out, _ = run(capsys, "--lang", "zh", "evaluate", "--help")
    assert "docs/ledger.md" in out and "bench/RESULTS.md" in out  # words are not cut
    assert "--policy ID[@VERSION]           ID 或 ID@版本（固定版本）。  [必填]" in out
    assert "在 Dask 集群上判定：local:N 或调度器地址" in unwrapped(out)


def test_help_wrapping_measures_columns_and_keeps_english_as_click_wraps_it():
    from click.formatting import wrap_text as click_wrap

    from engine.cli.helptext import width, wrap_text

    english = "Check again whenever a policy or schema file is saved (Ctrl-C stops). " * 3
    assert wrap_text(english, 30, "  ", "  ", True) == click_wrap(english, 30, "  ", "  ", True)
    chinese = "每当政策文件或模式文件保存时重新检查（按 Ctrl-C 停止），见 docs/authoring.md。"
    lines = wrap_text(chinese, 20).splitlines()
    assert [width(line) for line in lines] == [20, 20, 17, 19]
    assert lines == ["每当政策文件或模式文", "件保存时重新检查（按", "Ctrl-C 停止），见", "docs/authoring.md。"]
    assert wrap_text("\b\n  保留  原样\n  的段落\n\n第二段", 8, preserve_paragraphs=True) == \
        "  保留  原样\n  的段落\n\n第二段"


def test_click_s_errors_are_in_chinese_under_zh_and_keep_the_exit_code(capsys):
    code, _, err = run(capsys, "check", "--bogus", "--lang", "zh")  # the wrong option comes before --lang
    assert code == 64
    assert "用法： policy check [OPTIONS] [PATHS]..." in err
    assert "运行 'policy check --help' 查看帮助。" in err
    assert "错误：没有选项 '--bogus'。" in err
    code, _, err = run(capsys, "--lang", "zh", "chek")
    assert code == 64 and "错误：没有命令 'chek'。 您是不是要写 'check'？" in err
    code, _, err = run(capsys, "--lang=zh", "show", POLICY, "--as-of", "2024-13-01")
    assert code == 64 and "错误：'--as-of' 的值无效：'2024-13-01' 不是日历上的日期（没有 13 月）" in err
    code, _, err = run(capsys, "--lang", "zh", "evaluate", "x.yaml")
    assert code == 64 and "错误：缺少选项 '--policy'。" in err  # the full stop click adds itself, too
    code, _, err = run(capsys, "--lang", "en", "check", "--bogus")
    assert code == 64 and "Error: No such option '--bogus'." in err and "Try 'policy check --help' for help." in err


def test_a_chinese_locale_makes_click_speak_chinese(capsys, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, _, err = run(capsys, "check", "--bogus")
    assert code == 64 and "错误：没有选项 '--bogus'。" in err
    code, _, err = run(capsys, "check", "--bogus", "--lang", "en")
    assert "Error: No such option '--bogus'." in err


def test_every_word_click_says_is_in_the_catalogue():
    """A newer click with a message of its own that clickwords.WORDS does not list fails here: add it there,
    run ./dev messages and translate it."""
    babel = pytest.importorskip("babel.messages.extract")
    from engine.cli import clickwords

    listed = {str(word) for word in clickwords.WORDS}
    missing = set()
    for module in clickwords.MODULES:
        for _line, message, _comments, _context in babel.extract_from_file(
                "python", module.__file__, keywords={"_": None, "ngettext": (1, 2)}):
            missing |= {m for m in ((message,) if isinstance(message, str) else message) if m not in listed}
    assert not missing


# -- the officers' commands --------------------------------------------------------------------------------------


def test_timeline_in_both_languages(capsys):
    code, out, _ = run(capsys, "--lang", "zh", "timeline", POLICY)
    assert code == 0
    assert out.startswith("2024-05-01  有效期 2024-05-01 .. 至今  印发 2024-03-26  金人社发〔2024〕15号  ")
    assert "    2025-01-01  所依据的政策变化：china/retirement-age 1978-06-02 → 2025-01-01" in out
    _, out, _ = run(capsys, "--lang", "en", "timeline", POLICY)
    assert out.startswith("2024-05-01  in force 2024-05-01 .. now  issued 2024-03-26  金人社发〔2024〕15号  ")
    assert "    2025-01-01  underneath: china/retirement-age 1978-06-02 → 2025-01-01" in out
    _, zh, _ = run(capsys, "--lang", "zh", "timeline", POLICY, "--format", "json")
    _, en, _ = run(capsys, "--lang", "en", "timeline", POLICY, "--format", "json")
    assert zh == en and json.loads(zh.splitlines()[0])["version"] == "2024-05-01"


def test_show_in_both_languages_and_its_json_the_same(capsys):
    city = "wenzhou/digital-engineer-subsidy@2024-09-01"
    code, out, _ = run(capsys, "--lang", "zh", "show", city, "--as-of", "2024-10-01")
    assert code == 0
    assert "\n  有效期 2024-09-01 .. 至今；印发 2024-08-15\n" in out
    assert "\n  继承：zhejiang/digital-engineer\n" in out and "\n  引用：retirement = china/retirement-age\n" in out
    reads = "读取：继承 zhejiang/digital-engineer@2023-09-16、引用 china/retirement-age@1978-06-02"
    assert f"\n  2024-10-01 {reads}\n" in out
    assert "\n输入检查（不满足其中任何一项的申请即为无效）：\n" in out and "\n规则：\n" in out
    assert "\n  claim_place（覆盖） [二]\n    通过条件：" in out and "\n    不通过时：" in out
    assert "\n定义：\n" in out and "\n输出：\n" in out and "\n说明：\n" in out and "\n不可计算：\n" in out
    _, out, _ = run(capsys, "--lang", "en", "show", city, "--as-of", "2024-10-01")
    assert "\n  in force 2024-09-01 .. now; issued 2024-08-15\n" in out
    reads = "reads: extends zhejiang/digital-engineer@2023-09-16, uses china/retirement-age@1978-06-02"
    assert f"\n  on 2024-10-01 {reads}\n" in out
    assert "\n  claim_place (overrides) [二]\n    require: " in out and "\n    fail:    " in out
    code, out, _ = run(capsys, "--lang", "zh", "show", city, "--as-of", "2024-01-01")
    assert code == 0 and "\n  2024-01-01 不在有效期内：本版本的有效期为 2024-09-01 .. 至今\n" in out
    _, zh, _ = run(capsys, "--lang", "zh", "show", city, "--as-of", "2024-10-01", "--format", "json")
    _, en, _ = run(capsys, "--lang", "en", "show", city, "--as-of", "2024-10-01", "--format", "json")
    assert zh == en and json.loads(zh)["reads"][0] == "extends zhejiang/digital-engineer@2023-09-16"
    _, out, _ = run(capsys, "--lang", "zh", "timeline", "wenzhou/digital-engineer-subsidy")
    assert "zhejiang/digital-engineer 2023-09-16 → 2025-03-01（继承；15 处改动）" in out
    _, out, _ = run(capsys, "--lang", "en", "timeline", "wenzhou/digital-engineer-subsidy")
    assert "zhejiang/digital-engineer 2023-09-16 → 2025-03-01 (extends; 15 changes)" in out


def test_an_unknown_policy_in_both_languages(capsys):
    code, _, err = run(capsys, "--lang", "zh", "timeline", "nope/none")
    assert code == 64 and err.startswith("policy: 没有政策 'nope/none'；已知的政策：china/retirement-age, ")
    code, _, err = run(capsys, "--lang", "en", "timeline", "nope/none")
    assert code == 64 and err.startswith("policy: no policy 'nope/none'; known: china/retirement-age, ")


def _store_with_a_broken_policy(tmp_path: Path) -> Path:
    import shutil

    store = tmp_path / "store"
    shutil.copytree(STORE, store)
    shutil.copytree(ROOT / "tests" / "fixtures" / "schemas", tmp_path / "schemas")
    broken = store / "jinhua" / "digital-engineer-subsidy" / "2024-05-01.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\n\tstray: tab\n", encoding="utf-8")
    return store


def test_list_marks_a_policy_with_errors_in_both_languages(capsys, tmp_path):
    store = _store_with_a_broken_policy(tmp_path)
    cli.main(["--policies", str(store), "--lang", "zh", "list"])
    out, err = capsys.readouterr()
    assert f"{POLICY}  （没有能读取的版本）  [有错误：" in out
    cli.main(["--policies", str(ROOT / "policies"), "--lang", "zh", "list"])
    assert "china/retirement-age  法定退休年龄（渐进式延迟，2025年1月1日起）  （1978-06-02、2025-01-01）\n" \
        in capsys.readouterr()[0]
    assert "1 项政策的文件有错误，改正之前无法使用；请运行 `policy check`" in err
    cli.main(["--policies", str(store), "--lang", "en", "list"])
    out, err = capsys.readouterr()
    assert f"{POLICY}  (no version could be read)  [errors in " in out
    assert "1 policy has files with errors and cannot be used until they are fixed; run `policy check`" in err


def test_test_refuses_accept_with_k_in_both_languages(capsys):
    code, _, err = run(capsys, "--lang", "zh", "test", "-k", "x", "--accept")
    assert code == 64 and err == "policy: --accept 会改写整个案例文件：请不要同时使用 -k\n"
    code, _, err = run(capsys, "--lang", "en", "test", "-k", "x", "--accept")
    assert code == 64 and err == "policy: --accept writes whole case files: run it without -k\n"


def test_check_watch_says_what_it_does_in_the_language_chosen(capsys, tmp_path):
    from engine.cli.watching import watch_files
    from engine.core.i18n import set_language

    watched = tmp_path / "a.yaml"
    runs = []

    class Stop(Exception):
        pass

    def check_once() -> int:
        runs.append(1)
        if len(runs) == 1:  # saved while the first check runs: the watcher sees it on its first look
            watched.write_text("a: 22\n", encoding="utf-8")  # a new size: a change whatever the clock says
            return 0
        raise Stop

    for language, watching, changed in (("zh", "正在监视文件变化（按 Ctrl-C 停止）", "已修改："),
                                        ("en", "watching for changes (Ctrl-C stops)", "changed: ")):
        runs.clear()
        watched.write_text("a: 1\n", encoding="utf-8")
        set_language(language)
        with pytest.raises(Stop):
            watch_files([tmp_path], check_once, interval=0)
        err = capsys.readouterr().err
        assert err == f"{watching}\n{changed}{watched}{'；重新检查' if language == 'zh' else '; checking again'}\n"


# -- the other commands' refusals: the same exit code, the message in the language asked for ------------------

REFUSALS = [
    (("evaluate", "x.yaml", "--policy", POLICY, "--any-date"), 64,
     "policy: --any-date 只用于固定版本：请给出 --policy ID@版本",
     "policy: --any-date applies a pinned version: give --policy ID@VERSION"),
    (("evaluate", "x.yaml", "--policy", "zhejiang/digital-engineer@1999"), 64,
     "policy: zhejiang/digital-engineer 没有版本 '1999'（已有的版本：2023-09-16, 2025-03-01）",
     "policy: zhejiang/digital-engineer has no version '1999' (it has 2023-09-16, 2025-03-01)"),
    (("diff", POLICY), 64, "policy: 请给出两个固定版本 ID@A ID@B，或者一个 ID 加上 --from 和 --to",
     "policy: give two pinned versions, ID@A ID@B, or one ID with --from and --to"),
    (("diff", POLICY, "--from", "2024", "--to", "2025-01-01"), 64,
     "policy: --from 需要日期（YYYY-MM-DD）或 @版本，而不是 '2024'",
     "policy: --from takes a date (YYYY-MM-DD) or @VERSION, not '2024'"),
    (("diff", POLICY, "wenzhou/digital-engineer-subsidy"), 64,
     f"policy: 比较两项政策时，请固定各自的版本（ID@版本）或给出 --on 日期；{POLICY} 两者都没有",
     f"policy: to compare two policies, pin each (ID@VERSION) or give --on DATE; {POLICY} has neither"),
    (("impact", POLICY, "x.yaml", "--from", "1990-01-01", "--to", "2025-01-01"), 3,
     f"policy: {POLICY} 在 1990-01-01 没有有效的版本", f"policy: {POLICY} has no version in force on 1990-01-01"),
    (("verify",), 64, "policy: 请给出 DECISIONS 和 CLAIMS，或者 --database URL 加上 --decision ID 或筛选条件",
     "policy: give DECISIONS and CLAIMS, or --database URL with --decision ID or a filter"),
    (("verify", "--claim-id", "x"), 64,
     "policy: --decision、--claim-id、--policy、--from 和 --to 用于从决定日志中选择决定：请给出 --database URL",
     "policy: --decision, --claim-id, --policy, --from and --to select decisions of a log: give --database URL"),
    (("new", "Bad", "--effective", "2026-01-01"), 64,
     "policy: 'Bad' 不是政策编号：应由小写字母、数字和 - 组成，两段或更多段，用 / 连接",
     "policy: 'Bad' is not a policy id: lower-case letters, digits and -, two or more parts joined by /"),
    (("eval", "1 + 1", "--policy", POLICY, "--claim", "nope.yaml"), 64, "错误：没有这个申请文件：nope.yaml",
     "Error: no such claim file: nope.yaml"),
    (("serve", "--host", "0.0.0.0"), 64,
     "policy: 没有 --tokens 时，服务只监听回环地址（127.0.0.1、::1），不能监听 0.0.0.0："
     "要为其他机器服务，请给出令牌文件",
     "policy: without --tokens the service listens only on a loopback address (127.0.0.1, ::1), not 0.0.0.0: give "
     "a tokens file to serve other machines"),
    (("serve", "--personal-data", "hash"), 64,
     "policy: --personal-data hash 需要 --personal-key 文件（计算哈希所用的密钥）",
     "policy: --personal-data hash needs --personal-key FILE (the secret the hashes are keyed with)"),
    (("grant", "a.yaml", "b.yaml", "--policy", POLICY, "--database", "sqlite://", "--key", "k"), 64,
     "policy: --key 标识一份申请的请求；使用它时请只给出一份申请",
     "policy: --key names the request of one claim; give one claim with it"),
]


@pytest.mark.parametrize(("args", "code", "chinese", "english"), REFUSALS, ids=[" ".join(r[0][:2]) for r in REFUSALS])
def test_a_refusal_in_both_languages(capsys, tmp_path, args, code, chinese, english):
    (tmp_path / "x.yaml").write_text("claim_id: x\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("claim_id: a\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("claim_id: b\n", encoding="utf-8")
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        for language, expected in (("zh", chinese), ("en", english)):
            got, _, err = run(capsys, "--lang", language, *args)
            assert got == code
            assert expected in err
    finally:
        os.chdir(here)


def test_a_claim_on_a_day_without_a_version_in_both_languages_and_the_same_json(capsys):
    claim = str(ROOT / "examples" / "eligible-blockchain-junior.yaml")
    args = ("evaluate", claim, "--policy", POLICY, "--as-of", "2000-01-01", "-q")
    code, out, _ = run(capsys, "--lang", "zh", *args)
    assert code == 3
    assert f"[policy.not_in_force] {POLICY} 在 2000-01-01 没有有效的版本；最接近的版本是 {POLICY}@2024-05-01，自 " \
           "2024-05-01 起有效" in out
    code, out, _ = run(capsys, "--lang", "en", *args)
    assert f"[policy.not_in_force] {POLICY} has no version in force on 2000-01-01; the nearest version is " \
           f"{POLICY}@2024-05-01, in force from 2024-05-01" in out
    _, zh, _ = run(capsys, "--lang", "zh", *args, "--format", "json")
    _, en, _ = run(capsys, "--lang", "en", *args, "--format", "json")
    assert zh == en and json.loads(zh)["error"]["code"] == "policy.not_in_force"


def test_evaluate_s_counts_and_a_builtin_s_wrong_arguments_in_both_languages(capsys):
    claims = [str(path) for path in sorted((ROOT / "examples").glob("*.yaml"))]
    code, _, err = run(capsys, "--lang", "zh", "evaluate", *claims, "--policy", POLICY)
    assert err.splitlines()[-1] == "已决定 4 份（符合条件 2 份），无效 0 份，没有有效政策 0 份，未判定 0 份"
    _, _, err = run(capsys, "--lang", "en", "evaluate", *claims, "--policy", POLICY)
    assert err.splitlines()[-1] == "4 decided (2 eligible), 0 invalid, 0 with no policy in force, 0 undecided"
    code, out, err = run(capsys, "--lang", "zh", "eval", "min(1)", "--policy", POLICY)
    assert code == 1 and "错误[call.arguments]: min()：需要一个列表，或两个及以上的值" in out + err
    code, out, err = run(capsys, "--lang", "zh", "eval", "length(1, 2)", "--policy", POLICY)
    assert "错误[call.arguments]: length()：只接受 1 个参数，不是 2 个" in out + err
    _, out, err = run(capsys, "--lang", "en", "eval", "min(1)", "--policy", POLICY)
    assert "error[call.arguments]: min() takes a list, or two or more values" in out + err


def test_the_repl_in_both_languages(capsys, monkeypatch):
    import io

    for language, lines in (("zh", [f"{POLICY} — :help 查看命令，:quit 退出", "输入一个表达式即可计算。命令：",
                                    "  :names          可用的定义、表格和事实",
                                    "没有命令 :nope；:help 列出可用的命令"]),
                            ("en", [f"{POLICY} — :help for commands, :quit to leave",
                                    "Type an expression to evaluate it. Commands:",
                                    "  :names          the definitions, tables and facts in scope",
                                    "unknown command :nope; :help lists the commands"])):
        monkeypatch.setattr("sys.stdin", io.StringIO(":help\n:nope\n:quit\n"))
        code, out, _ = run(capsys, "--lang", language, "repl", "--policy", POLICY)
        assert code == 0
        for line in lines:
            assert line + "\n" in out


def test_a_failing_case_says_what_differs_in_both_languages(capsys, tmp_path):
    cases = tmp_path / "wrong.cases.yaml"
    cases.write_text(f"policy: {POLICY}@2024-05-01\ncases:\n  - name: 无效的申请\n"
                     "    claim: {applied_on: 2025-04-02}\n    expect: {eligible: true}\n  - name: 名称之外\n",
                     encoding="utf-8")
    code, out, _ = run(capsys, "--lang", "zh", "test", str(cases))
    assert code == 1
    lines = out.splitlines()
    assert lines[1].startswith("    预期得到决定，实际为 claim.invalid：") and "缺少必填的 applicant" in lines[1]
    assert lines[2:4] == [f"FAIL {cases}:6: 第 2 个案例（名称之外）", "    该案例没有 `expect`"]
    assert lines[-1] == "0 个通过，2 个失败"
    code, out, _ = run(capsys, "--lang", "en", "test", str(cases))
    lines = out.splitlines()
    assert lines[1].startswith("    expected a decision, got claim.invalid: ")
    assert lines[2:4] == [f"FAIL {cases}:6: case 2 (名称之外)", "    the case has no `expect`"]
    _, zh, _ = run(capsys, "--lang", "zh", "test", str(cases), "--format", "json")
    _, en, _ = run(capsys, "--lang", "en", "test", str(cases), "--format", "json")
    assert zh == en and json.loads(zh.splitlines()[1])["name"] == "case 2 (名称之外)"


def test_a_misspelt_key_of_a_case_is_named_with_the_key_meant(capsys, tmp_path):
    cases = tmp_path / "typos.cases.yaml"
    cases.write_text(f"policy: {POLICY}@2024-05-01\ncases:\n  - name: 拼错键\n    expcet: {{eligible: true}}\n"
                     "  - name: 拼错预期\n    claim: {applied_on: 2025-04-02}\n    expect: {eligble: true}\n"
                     "    as_off: 2025-04-02\n", encoding="utf-8")
    code, out, _ = run(capsys, "--lang", "en", "test", str(cases))
    assert code == 1
    assert "    the case has no `expect` (is 'expcet' it, misspelt?)" in out.splitlines()
    assert "    unknown expectation 'eligble': did you mean 'eligible'?" in out.splitlines()
    assert "    a case has no key 'as_off': did you mean 'as_of'?" in out.splitlines()
    base = json.dumps(yaml.safe_load((ROOT / "examples" / "eligible-blockchain-junior.yaml").read_text("utf-8")),
                      ensure_ascii=False, default=str)
    cases.write_text(f"policy: {POLICY}@2024-05-01\nbase: {base}\ncases:\n  - name: 拼错输出\n"
                     "    expect: {outputs: {deadlin: '2025-04-01'}}\n", encoding="utf-8")
    code, out, _ = run(capsys, "--lang", "en", "test", str(cases))
    assert code == 1 and f"    output 'deadlin': {POLICY}@2024-05-01 has no such output; did you mean 'deadline'?" \
        in out.splitlines()


def test_the_language_server_s_hover_in_both_languages(tmp_path):
    from engine.core.i18n import speaking
    from engine.lsp.analysis import Analysis
    from tests.authoring_demo import POLICY as DEMO
    from tests.authoring_demo import write_store

    policies = write_store(tmp_path)
    path = policies / "demo" / "grant" / "2024-01-01.yaml"
    row = next(i for i, line in enumerate(DEMO.split("\n")) if "require: adult" in line)
    column = DEMO.split("\n")[row].index("adult") + 1
    analysis = Analysis(policies, None, path, DEMO)
    with speaking("zh"):
        hover = analysis.hover(row, column)
    assert hover.startswith("定义 `adult`：`bool`") and "定义于 demo/grant@2024-01-01（" in hover
    with speaking("en"):
        hover = analysis.hover(row, column)
    assert hover.startswith("definition `adult`: `bool`") and "defined in demo/grant@2024-01-01 (" in hover


def test_impact_in_both_languages(capsys):
    fixtures = ROOT / "tests" / "fixtures"
    args = ["--schemas", str(fixtures / "schemas"), "impact", POLICY, "--from", "2025-02-01", "--to", "2025-04-01",
            str(fixtures / "claims.jsonl")]
    code, out, _ = run(capsys, "--lang", "zh", *args)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "对 30 份申请的影响" and lines[3].startswith("  决定有变化：11 份（变为符合条件 3，")
    assert "  未判定：之前 1 份，之后 1 份" in lines and "    institution_catalogued：未通过 → 通过 4" in lines
    assert "    FICT-JH-01：符合条件，2200 → 符合条件，2500（subsidy[2-02-10-15, junior]：amount " \
           "2200 → 2500）" in lines
    assert lines[1] == "  之前：jinhua/digital-engineer-subsidy@2024-05-01（继承 " \
                       "zhejiang/digital-engineer@2023-09-16、引用 china/retirement-age@2025-01-01）"
    assert lines[-1] == "    FICT-JH-18：claim.invalid: level_certificate.level：文字 'expert' 不在可选值中：junior、" \
                        "intermediate、senior"
    code, out, _ = run(capsys, "--lang", "en", *args)
    lines = out.splitlines()
    assert lines[0] == "Impact over 30 claims" and "    institution_catalogued: fail → pass 4" in lines
    assert lines[1] == "  before: jinhua/digital-engineer-subsidy@2024-05-01 (extends " \
                       "zhejiang/digital-engineer@2023-09-16, uses china/retirement-age@2025-01-01)"
    assert lines[-1] == "    FICT-JH-18: claim.invalid: level_certificate.level: the text 'expert' is not one of: " \
                        "junior, intermediate, senior"
    _, zh, _ = run(capsys, "--lang", "zh", *args, "--format", "json")
    _, en, _ = run(capsys, "--lang", "en", *args, "--format", "json")
    assert zh == en


def test_verify_in_both_languages_and_its_json_the_same(capsys, tmp_path):
    fixtures = ROOT / "tests" / "fixtures"
    store = ["--schemas", str(fixtures / "schemas")]
    lines = [line for line in (fixtures / "claims.jsonl").read_text(encoding="utf-8").splitlines()
             if json.loads(line)["claim_id"] in ("FICT-JH-01", "FICT-JH-02")]
    claims = tmp_path / "claims.jsonl"
    claims.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _, out, _ = run(capsys, *store, "evaluate", str(claims), "--policy", POLICY, "--format", "json", "-q")
    records = [json.loads(line) for line in out.splitlines()]
    records[1]["amount"] = "1"  # the second record no longer says what the engine decides
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    args = [*store, "verify", str(recorded), str(claims)]
    code, out, err = run(capsys, "--lang", "zh", *args)
    assert code == 1
    zh = out.splitlines()
    assert zh[0] == f"FICT-JH-01 ({recorded}:1)：已复现"
    assert zh[1] == f"FICT-JH-02 ({recorded}:2)：不一致"
    assert any(line.startswith("    amount：记录为 1，现在为 ") for line in zh)
    code, out, _ = run(capsys, "--lang", "en", *args)
    assert code == 1
    en = out.splitlines()
    assert en[0] == f"FICT-JH-01 ({recorded}:1): reproduced" and en[1] == f"FICT-JH-02 ({recorded}:2): DIFFERS"
    assert any(line.startswith("    amount: recorded 1, now ") for line in en)
    assert len(zh) == len(en)
    _, zh_json, _ = run(capsys, "--lang", "zh", *args, "--format", "json")
    _, en_json, _ = run(capsys, "--lang", "en", *args, "--format", "json")
    assert zh_json == en_json
    rows = [json.loads(line) for line in en_json.splitlines()]
    assert [r["status"] for r in rows] == ["reproduced", "differs"]
    assert rows[1]["differences"][0].startswith("amount: recorded 1, now ")


def test_verify_says_what_today_s_store_would_decide_in_both_languages(capsys, tmp_path):
    """Decided under the seed versions, verified against a store where a newer provincial version is in force on
    the decision date: reproduced, and what today's store would decide instead, in the language chosen."""
    from seedstore import SEED_POLICIES, SEED_SCHEMAS

    fixtures = ROOT / "tests" / "fixtures"
    line = next(line for line in (fixtures / "claims.jsonl").read_text(encoding="utf-8").splitlines()
                if json.loads(line)["claim_id"] == "FICT-JH-04")
    claims = tmp_path / "claims.jsonl"
    claims.write_text(line + "\n", encoding="utf-8")
    cli.main(["--policies", str(SEED_POLICIES), "--schemas", str(SEED_SCHEMAS), "evaluate", str(claims),
              "--policy", POLICY, "--format", "json", "-q"])
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text(capsys.readouterr().out, encoding="utf-8")
    args = ["--schemas", str(fixtures / "schemas"), "verify", str(recorded), str(claims)]
    code, out, _ = run(capsys, "--lang", "zh", *args)
    assert code == 0
    assert out.splitlines() == [
        f"FICT-JH-04 ({recorded}:1)：已复现",
        "    按今天的政策库，决定会不同：zhejiang/digital-engineer@2025-03-01，而不是 @2023-09-16"
        "（自 2025-03-01 起施行，2025-02-10 发布；在决定之后才加入政策库）",
        "        amount：按记录的版本为 2200，按今天的版本为 2500"]
    code, out, _ = run(capsys, "--lang", "en", *args)
    assert out.splitlines() == [
        f"FICT-JH-04 ({recorded}:1): reproduced",
        "    today's store would decide it differently: zhejiang/digital-engineer@2025-03-01 instead of @2023-09-16 "
        "(in force from 2025-03-01, issued 2025-02-10; added to the store after the decision)",
        "        amount: 2200 with the versions recorded, 2500 with today's"]


def test_verify_of_a_logged_decision_names_it_in_both_languages(capsys, tmp_path):
    """A decision of the log is where verify says it was read from: 决定 ID, decision ID; the JSON keeps the English."""
    database = f"sqlite:///{tmp_path / 'service.db'}"
    seed = ["--policies", str(ROOT / "policies"), "--schemas", str(ROOT / "schemas")]
    assert cli.main([*seed, "grant", str(ROOT / "examples" / "eligible-blockchain-junior.yaml"),
                     "--policy", "zhejiang/digital-engineer", "--database", database]) == 0
    decision = json.loads(capsys.readouterr().out)["decision"]["decision_id"]
    args = [*seed, "verify", "--database", database, "--decision", decision]
    assert cli.main(["--lang", "zh", *args]) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(rf"\S+ \(决定 {decision}\)：已复现\n", out)
    assert err == "已复现 1 条，不一致 0 条，无法读取 0 条\n"
    assert cli.main(["--lang", "en", *args]) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(rf"\S+ \(decision {decision}\): reproduced\n", out)
    assert err == "1 reproduced, 0 differ, 0 unreadable\n"
    for language in ("zh", "en"):
        assert cli.main(["--lang", language, *args, "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["location"] == f"decision {decision}"


@pytest.mark.parametrize("extra", [(), ("--amend",), ("--new",)])
def test_policy_new_s_chinese_scaffold_is_already_in_fmt_s_layout(capsys, tmp_path, extra):
    """The comments of a scaffold are Chinese whatever --lang says (a policy file is written in Chinese), and the
    scaffold is as `policy fmt` lays a file out: a new version, an amendment, a new policy."""
    from tests.authoring_demo import write_store

    policies = write_store(tmp_path)
    policy = "demo/other" if extra == ("--new",) else "demo/grant"
    for language in ("en", "zh"):
        code = cli.main(["--policies", str(policies), "--lang", language, "new", policy, "--effective",
                         "2025-01-01" if language == "en" else "2025-06-01", "--issued", "2024-12-20",
                         *[e for e in extra if e != "--new"]])
        capsys.readouterr()
        assert code == 0
    for target in sorted((policies / policy).glob("2025-*.yaml")):
        text = target.read_text(encoding="utf-8")
        comments = [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]
        commented_yaml = re.compile(r"\s*(- |[\w.]+:)")  # `# tables:`, `#   - id: a`: an example to uncomment
        assert comments and all(not c.isascii() for c in comments if not commented_yaml.match(c)), target
        assert cli.main(["--policies", str(policies), "fmt", "--check", str(target)]) == 0, capsys.readouterr()
    assert cli.main(["--policies", str(policies), "check"]) == 0, capsys.readouterr()


def test_a_confusable_name_and_did_you_mean_in_both_languages(capsys):
    code, out, err = run(capsys, "--lang", "zh", "eval", "аge > 1", "--policy", POLICY)  # Cyrillic а
    assert code == 1
    assert "错误[syntax.confusable]: 名称 'аge' 混用了西里尔字母和拉丁字母（'g' 是 U+0067 LATIN SMALL LETTER G）：" \
           "看起来可能像另一个名称" in out + err
    assert "提示：请只用一种字母表书写名称，不含不可见字符" in out + err
    _, out, err = run(capsys, "--lang", "en", "eval", "аge > 1", "--policy", POLICY)
    assert "error[syntax.confusable]: the name 'аge' mixes Cyrillic and Latin letters" in out + err
    _, out, err = run(capsys, "--lang", "zh", "eval", "lenght(applicant.id_number)", "--policy", POLICY)
    assert "错误[name.unknown]: 未知的函数 'lenght'" in out + err and "提示：是不是要写 'length'？" in out + err
    code, _, err = run(capsys, "--lang", "zh", "explain", "syntax.charcter")
    assert code == 64 and "是不是要写 syntax.character 或 syntax.date" in err
    _, _, err = run(capsys, "--lang", "en", "explain", "syntax.charcter")
    assert "did you mean syntax.character or syntax.date" in err


def test_a_command_s_first_clause_keeps_the_space_between_latin_and_chinese_where_an_aside_was(capsys):
    code, out, _ = run(capsys, "--lang", "zh", "ledger", "--help")
    assert code == 0
    assert "  import  从 CSV 或 JSON Lines 导入经办机构已有的发放记录\n" in out  # CSV（带标题行）或 JSON Lines（…）导入
