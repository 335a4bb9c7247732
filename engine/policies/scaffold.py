"""A new version to edit (`policy new`): a copy of an existing version with its dates moved, or, for a new
policy, a file with the required sections and comments in Chinese that says what to fill in."""
from __future__ import annotations

from datetime import date

from engine.policies import yamledit

NEW_POLICY = """\
# {policy_id}：新政策。按原文逐条填写，完成后运行 `policy check` 和 `policy test`。
# 格式和每个键的含义见 docs/authoring.md；编辑器可按 engine/schemas/policy.schema.json 补全键名。
policy: {policy_id}
# 版本号：按惯例为生效日期。
version: "{version}"
# 政策名称（原文标题的简称）。
title: 请填写政策名称
effective:
  # 生效的第一天（原文“自……起施行”）；文件规定了终止日期时再写 to。
  from: {effective}
  clause: 施行
# 印发日期（原文落款日期）。
issued_on: {issued}
source:
  # 文号，如 某人社发〔2024〕1号。
  number: 请填写文号
  # 原文完整标题。
  title: 请填写原文标题
  # 发文机关，每个一项。
  issuers: [请填写发文机关]
  # 原文的每一条：键是条款编号（如 一、二.(一)），值是原文全文，不删节。
  # 每一条都要被规则、表、定义、输出或金额引用，或列入 not_computable。
  clauses:
    一: 请粘贴第一条原文。
    施行: 请粘贴施行日期条款原文。
# 申请事实的 JSON Schema（在 schemas/ 下）；只供其他政策通过 uses 读取时可删去。
# input:
#   schema: training-claim.schema.json
# 转发上级政策时写 extends（继承其全部规则），读取其他政策的导出项时写 uses。
# extends: 上级政策编号
# 表：目录和标准（附件）。
# tables:
#   amounts:
#     clause: 一
#     key: [level]
#     columns: {{level: string, amount: money}}
#     rows:
#       - [junior, 1000]
# 定义：给表达式起名字，规则和输出可以引用。
# definitions:
#   年满十六周岁:
#     clause: 一
#     expr: age(applicant.birth_date, decision_date) >= 16
# 规则：每条是一项申领条件，所有规则都满足才符合条件。
# rules:
#   - id: at_least_16
#     clause: 一
#     require: 年满十六周岁
#     message:
#       pass: 已满十六周岁
#       fail: 未满十六周岁
# 不可计算的条款及理由（行政职责、程序等）。
not_computable:
  - clause: 一
    reason: 请改为规则、表或定义；确实不可计算时写明理由。
  - clause: 施行
    reason: 以本版本的 effective.from 表示。
"""


def new_policy_text(policy_id: str, effective: date, issued: date) -> str:
    return NEW_POLICY.format(policy_id=policy_id, version=effective.isoformat(), effective=effective.isoformat(),
                             issued=issued.isoformat())


def next_version_text(text: str, source_key: str, effective: date, issued: date) -> str:
    """The text of `source_key`'s file as the next version: version and dates moved to `effective`, an end date
    dropped, comments kept, and a comment on each value the new notice will change."""
    data = yamledit.load(text)
    label = effective.isoformat()
    data["version"] = yamledit.DoubleQuoted(label)
    data.yaml_add_eol_comment(f"新版本，复制自 {source_key}", "version")
    eff = data.get("effective")
    if isinstance(eff, dict):
        eff["from"] = yamledit.date_text(label)
        eff.pop("to", None)
    data["issued_on"] = yamledit.date_text(issued.isoformat())
    data.yaml_add_eol_comment("请改为新文件的印发日期", "issued_on")
    source = data.get("source")
    if isinstance(source, yamledit.CommentedMap):
        for key, note in (("number", "请改为新文件的文号"), ("title", "请改为新文件的标题"),
                          ("clauses", "请按新文件逐条核对原文")):
            if key in source:
                source.yaml_add_eol_comment(note, key)
    data.pop("review_by", None)
    return yamledit.dump(data)


# the later notice's own document, in an amendment and a repeal: its number and title to fill in, its issuers
# copied from the version before (to check)
NOTICE_SOURCE = """\
  # 文号，如 某人社发〔2025〕1号。
  number: 请填写新文件的文号
  # 新文件的完整标题。
  title: 请填写新文件的标题
  # 发文机关，每个一项（已从上一版本复制，请核对）。
  issuers: {issuers}
"""


def _notice_source(previous) -> str:
    import json

    issuers = _items(_mapping(_mapping(previous.content).get("source")).get("issuers")) or ["请填写发文机关"]
    return NOTICE_SOURCE.format(issuers=json.dumps(issuers, ensure_ascii=False))


AMENDMENT = """\
# {policy_id}：修订 {amends}（新文件只改动几处时用）。本文件只写新文件改了什么，
# 没有写的一切（表的其他行、规则、定义、输出、金额、extends、uses、输入 schema、上一版本的条款）都从 {amends} 原样沿用。
# 写法见 docs/authoring.md「修订上一版本」；每改一处运行 `policy check`，完成后运行 `policy test`，
# 并用 `policy diff {amends_key} {policy_id}@{version}` 核对改动。
policy: {policy_id}
# 版本号：按惯例为生效日期。
version: "{version}"
# 所修订的版本：必须是紧接在本版本之前生效的版本。
amends: "{amends}"
title: {title}
effective:
  # 新文件生效的第一天（原文“自……起施行”）。
  from: {effective}
  clause: 施行
# 新文件的印发日期（原文落款日期）。
issued_on: {issued}
# 新文件自己的文号、标题、发文机关和条款；上一版本的条款仍然有效，不必重写。
source:
{notice_source}  # 新文件的每一条：键是条款编号，值是原文全文，不删节。
  # 每一条都要被本文件的规则、表、定义、输出或金额引用，或列入下面的 not_computable。
  clauses:
    一: 请粘贴第一条原文。
    施行: 请粘贴施行日期条款原文。
{examples}# 不可计算的条款及理由。把条款“一”改为规则、表或定义后，从这里删去。
not_computable:
  - clause: 一
    reason: 请改为规则、表或定义；确实不可计算时写明理由。
  - clause: 施行
    reason: 以本版本的 effective.from 表示。
"""


def amendment_text(previous, effective: date, issued: date) -> str:
    """An amendment of `previous` (a PolicyVersion, the version in force just before `effective`): identity and
    dates filled in, the amending notice's own document to fill in, and commented examples of each kind of
    change written with `previous`'s own table, rule and definition names. It passes `policy check` as it is."""
    import json

    content = _mapping(previous.content)
    return AMENDMENT.format(
        policy_id=previous.id, version=effective.isoformat(), amends=previous.version, amends_key=previous.key,
        title=json.dumps(previous.title or "请填写政策名称", ensure_ascii=False), effective=effective.isoformat(),
        issued=issued.isoformat(), notice_source=_notice_source(previous), examples=_examples(content))


REPEAL = """\
# {policy_id}：废止（新文件宣布本政策自某日起不再施行时用）。自 effective.from 起本政策没有有效的版本，
# 直到以后另有新版本生效；此前的版本和已作出的决定不受影响。本文件只写身份、日期和来源，不写规则、表等。
# 写法见 docs/authoring.md「废止」；完成后运行 `policy check` 和 `policy timeline {policy_id}`。
policy: {policy_id}
# 版本号：按惯例为废止生效的日期。
version: "{version}"
# 本文件是废止：自 effective.from 起，{policy_id} 不再有效。
repeals: true
title: {title}
effective:
  # 不再施行的第一天（原文“自……起废止”）。
  from: {effective}
  clause: 废止
# 新文件的印发日期（原文落款日期）。
issued_on: {issued}
source:
{notice_source}  clauses:
    废止: 请粘贴废止条款原文。
"""


def repeal_text(previous, effective: date, issued: date) -> str:
    """A repeal of `previous`'s policy from `effective` (the version it ends is `previous`): identity and dates
    filled in, the repealing notice's document to fill in. It passes `policy check` as it is, with a warning at
    each text to replace."""
    import json

    return REPEAL.format(policy_id=previous.id, version=effective.isoformat(),
                         title=json.dumps(f"关于废止{previous.title or previous.id}的通知", ensure_ascii=False),
                         effective=effective.isoformat(), issued=issued.isoformat(),
                         notice_source=_notice_source(previous))


def _flow(value) -> str:
    """A value as one line of YAML (JSON is YAML): a row, a key."""
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _scalar(text) -> str:
    """An expression as a YAML value that reads back as the same text: plain where YAML would read it so, else
    single-quoted (a string literal such as "42" written plain would be read as the number 42)."""
    import yaml

    if not isinstance(text, str) or "\n" in text:
        return "..."
    try:
        plain = yaml.safe_load(text) == text and not text.startswith(("'", '"'))
    except yaml.YAMLError:
        plain = False
    return text if plain else "'" + text.replace("'", "''") + "'"


def _examples(content: dict) -> str:
    """Commented examples of the changes an amendment states, with the names of the version it amends."""
    lines: list[str] = []
    tables = _mapping(content.get("tables"))
    name, table = next(((n, t) for n, t in tables.items() if isinstance(t, dict)), (None, {}))
    if name is not None:
        rows = _items(table.get("rows"))
        key = _items(table.get("key"))
        row = _flow(rows[0]) if rows else "[...]"
        columns = list(_mapping(table.get("columns")))
        first = rows[0] if rows else None
        if isinstance(first, list) and all(k in columns for k in key) and len(first) == len(columns):
            first_key = [first[columns.index(k)] for k in key]
        elif isinstance(first, dict):
            first_key = [first.get(k) for k in key]
        else:
            first_key = ["..."]
        lines += [
            f"# 表的改动（{name} 的键是 {_flow(key)}）：新增的行写在 add_rows 下（键不得已存在），",
            "# 替换键相同的行写在 replace_rows 下，删去的行在 remove_rows 下写键的值。",
            "# 整张表重写时写完整的表并加 replaces: true。",
            "# tables:",
            f"#   {name}:",
            "#     clause: 一",
            "#     add_rows:",
            f"#       - {row}    # 请改为新行的值：键不得与已有的行相同",
            "#     replace_rows:",
            f"#       - {row}",
            "#     remove_rows:",
            f"#       - {_flow(first_key)}",
        ]
    definitions = _mapping(content.get("definitions"))
    definition = next(iter(definitions), None)
    if definition is not None:
        expr = _mapping(definitions[definition]).get("expr")
        lines += [
            "# 替换上一版本的定义、输出、说明或金额：写同名项并加 replaces: true；新增的项用新名称。",
            "# definitions:",
            f"#   {definition}:",
            "#     replaces: true",
            "#     clause: 一",
            f"#     expr: {_scalar(expr)}",
        ]
    rules = [r for r in _items(content.get("rules")) if isinstance(r, dict)]
    if rules:
        rule = rules[0]
        require = rule.get("require")
        overrides = ["#     overrides: true    # 它替换的是上级政策（extends）的规则：两个都要写"] \
            if rule.get("overrides") is True else []
        lines += [
            "# 替换上一版本的规则：写同一 id 并加 replaces: true（保留原来的顺序位置）；新增的规则用新 id。",
            "# rules:",
            f"#   - id: {rule.get('id')}",
            "#     replaces: true",
            *overrides,
            "#     clause: 一",
            f"#     require: {_scalar(require)}",
            "#     message: {pass: 请填写满足时的说明, fail: 请填写不满足时的说明}",
            "# 删去上一版本的项：按名称或 id 列出（tables、definitions、rules、outputs、notes、checks、clauses）。",
            "# remove:",
            f"#   rules: [{rules[-1].get('id')}]",
        ]
    return "".join(line + "\n" for line in lines)


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _items(value) -> list:
    return value if isinstance(value, list) else []

