"""The command line in 简体中文 and English: help, click's own words about a wrong command line, and each
command's messages, chosen by --lang (anywhere on the line) or the locale; codes and JSON stay the same."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    assert "每当政策文件或模式文件保存时重新检查（按 Ctrl-C 停止）。" in out
    assert "text 供人阅读，json（每行一个对象）供程序读取。" in out
    _, out, _ = run(capsys, "check", "--help", "--lang", "en")
    assert "Check again whenever a policy or schema file is saved (Ctrl-C stops)." in " ".join(out.split())


def test_click_s_errors_are_in_chinese_under_zh_and_keep_the_exit_code(capsys):
    code, _, err = run(capsys, "check", "--bogus", "--lang", "zh")  # the wrong option comes before --lang
    assert code == 64
    assert "用法： policy check [OPTIONS] [PATHS]..." in err
    assert "运行 'policy check --help' 查看帮助。" in err
    assert "错误：没有选项 '--bogus'。" in err
    code, _, err = run(capsys, "--lang", "zh", "chek")
    assert code == 64 and "错误：没有命令 'chek'。 您是不是要写 'check'？" in err
    code, _, err = run(capsys, "--lang=zh", "show", POLICY, "--as-of", "2024-13-01")
    assert code == 64 and "错误：'--as-of' 的值无效：'2024-13-01' 不是日历上的日期（没有这一天）" in err
    code, _, err = run(capsys, "--lang", "zh", "evaluate", "x.yaml")
    assert code == 64 and "错误：缺少选项 '--policy'" in err
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
    assert f"{POLICY}  (没有能读取的版本)  [有错误：" in out
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
