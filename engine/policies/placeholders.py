"""The texts `policy new` leaves in a scaffold for the officer to replace (engine.policies.scaffold), and the
warning `policy check` gives at each one still in a file. Kept apart from the scaffolds, which import the YAML
editor, so that a check does not import it."""
from __future__ import annotations

from engine.core.diagnostics import Diagnostic
from engine.core.i18n import msg

# every value of a scaffold that is to be replaced, as the templates of engine.policies.scaffold write it
PLACEHOLDERS = frozenset((
    "请填写政策名称", "请填写文号", "请填写原文标题", "请填写发文机关",
    "请粘贴第一条原文。", "请粘贴施行日期条款原文。",
    "请填写新文件的文号", "请填写新文件的标题", "请改为规则、表或定义；确实不可计算时写明理由。",
    "请填写满足时的说明", "请填写不满足时的说明", "请粘贴废止条款原文。",
))


def unfilled(version) -> list[Diagnostic]:
    """A warning at every value of `version`'s file that is still a scaffold's text to replace."""
    document = version.document
    if document is None:
        return []
    found = []
    for path, value in _strings(document.value, ()):
        if value in PLACEHOLDERS:
            where = document.location(path)
            found.append(Diagnostic(
                "version.unfilled", msg("{text} is still the text `policy new` left to replace", text=repr(value)),
                where, severity="warning", source_line=document.line_text(where.line),
                hint=msg("write the notice's own text here")))
    return found


def _strings(value, path: tuple):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, path + (index,))
