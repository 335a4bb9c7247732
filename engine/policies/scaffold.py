"""A new version to edit (`policy new`): a copy of an existing version with its dates moved, or, for a new
policy, a file with the required sections and comments in Chinese that says what to fill in."""
from __future__ import annotations

from datetime import date

from engine.policies import yamledit

NEW_POLICY = """\
# {policy_id}：新政策。按原文逐条填写，完成后运行 `policy check` 和 `policy test`。
# 格式说明见 docs/authoring.md；每个键的含义也可在编辑器中悬停查看（policy lsp）。
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
