"""What the templates need besides data: expressions with their names linked, values written for people,
and the charts drawn as inline SVG on the server."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from markupsafe import Markup, escape

# A string literal, or a dotted name (Chinese names included), in an expression as written.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[A-Za-z_\u3400-\u9fff][\w\u3400-\u9fff]*'
                    r'(?:\.[A-Za-z_\u3400-\u9fff][\w\u3400-\u9fff]*)*')


def linked_expression(text: str | None, anchors: dict) -> Markup:
    """The expression as written, each name that has a definition on the page a link to it."""
    if not text:
        return Markup("")
    out, last = [], 0
    for match in _TOKEN.finditer(text):
        out.append(escape(text[last:match.start()]))
        token = match.group(0)
        last = match.end()
        if token[0] in "\"'":
            out.append(Markup('<span class="str">{}</span>').format(token))
            continue
        parts = token.split(".")
        for size in range(len(parts), 0, -1):  # the longest prefix that names a definition: alias.name, name
            name = ".".join(parts[:size])
            if name in anchors:
                rest = token[len(name):]
                out.append(Markup('<a class="name" href="#{}">{}</a>{}').format(anchors[name], name, rest))
                break
        else:
            out.append(escape(token))
    out.append(escape(text[last:]))
    return Markup("").join(out)


def shown(value) -> str:
    """A value from a decision or a table, as people read it."""
    if value is None:
        return "—"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    return str(value)


def _day(text: str) -> date:
    return date.fromisoformat(text)


def timeline_svg(rows: list[dict], today: date, marks: list[dict], as_of: date | None, labels: dict) -> Markup:
    """Versions as bars on a date axis: in force from .. to, a tick where each was issued, dashed lines where
    content changed underneath (a referenced policy's new version) and the as-of date."""
    if not rows:
        return Markup("")
    days = [_day(r["from"]) for r in rows] + [_day(r["issued_on"]) for r in rows] + [today]
    days += [_day(r["to"]) for r in rows if r["to"]] + [_day(m["date"]) for m in marks]
    if as_of:
        days.append(as_of)
    # a margin each side, within the calendar: an as-of date of 0001-01-01 or 9999-12-31 is a day like any other
    start = min(days) - timedelta(days=min(60, (min(days) - date.min).days))
    end = max(days) + timedelta(days=min(120, (date.max - max(days)).days))
    width, left, lane = 880, 130, 34
    height = 46 + lane * len(rows) + 24

    def x(day: date) -> float:
        return round(left + (width - left - 10) * (day - start).days / max(1, (end - start).days), 1)

    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" aria-labelledby="timeline-title" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="timeline-title">{escape(labels["title"])}</title>']
    # a tick a year, or every 2, 5, 10, … years where they would crowd (1978 to 9999 is 8,000 years)
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
                if (end.year - start.year) / s <= 30)
    for year in range(start.year + 1, end.year + 1):
        if year % step:
            continue
        tick = x(date(year, 1, 1))
        parts.append(f'<line x1="{tick}" y1="20" x2="{tick}" y2="{height - 20}" class="grid"/>'
                     f'<text x="{tick}" y="14" class="axis" text-anchor="middle">{year}</text>')
    for i, r in enumerate(rows):
        y = 30 + lane * i
        begin, finish = _day(r["from"]), _day(r["to"]) if r["to"] else end
        if r.get("repeals"):  # no bar: from this day nothing is in force
            parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" class="label">{escape(r["version"])}'
                         f'</text><line x1="{x(begin)}" y1="{y - 4}" x2="{x(begin)}" y2="{y + 24}" class="repeal">'
                         f'<title>{escape(labels["repealed"])} {escape(r["from"])}</title></line>')
        else:
            parts.append(f'<a href="{escape(r["href"])}"><text x="{left - 8}" y="{y + 15}" text-anchor="end" '
                         f'class="label">{escape(r["version"])}</text>'
                         f'<rect x="{x(begin)}" y="{y}" width="{max(2, x(finish) - x(begin))}" height="20" rx="3" '
                         f'class="bar{" current" if r.get("current") else ""}"><title>{escape(r["version"])}: '
                         f'{escape(r["from"])} .. {escape(r["to"] or labels["open"])}</title></rect></a>')
        issued = x(_day(r["issued_on"]))
        parts.append(f'<path d="M{issued} {y - 2} l-5 -7 h10 z" class="issued"><title>{escape(labels["issued"])} '
                     f'{escape(r["issued_on"])}</title></path>')
    for m in marks:
        at = x(_day(m["date"]))
        parts.append(f'<line x1="{at}" y1="22" x2="{at}" y2="{height - 22}" class="underneath">'
                     f'<title>{escape(m["date"])}: {escape(m["what"])}</title></line>')
    if as_of:
        at = x(as_of)
        parts.append(f'<line x1="{at}" y1="18" x2="{at}" y2="{height - 18}" class="asof"/>'
                     f'<text x="{at}" y="{height - 6}" text-anchor="middle" class="axis">{escape(labels["as_of"])} '
                     f'{as_of.isoformat()}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars_svg(title: str, groups: list[tuple[str, list[tuple[str, int | Decimal, str]]]]) -> Markup:
    """A grouped bar chart: each group (a label and its bars: label, value, css class), values to scale and
    labelled exactly as they are (an amount of 5021500 is not 5.0215e+06)."""
    top = max([float(v) for _, bars in groups for _, v, _ in bars] + [1])
    width, height, base = 420, 220, 180
    group_width = (width - 40) / max(1, len(groups))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{escape(title)}</title><line x1="20" y1="{base}" x2="{width - 10}" y2="{base}" class="grid"/>']
    for g, (label, bars) in enumerate(groups):
        bar_width = (group_width - 20) / max(1, len(bars))
        x0 = 30 + g * group_width
        for b, (name, value, css) in enumerate(bars):
            h = round((base - 30) * float(value) / top, 1)
            shown = format(value, "f") if isinstance(value, Decimal) else str(value)
            bx = round(x0 + b * bar_width, 1)
            parts.append(f'<rect x="{bx}" y="{base - h}" width="{round(bar_width - 4, 1)}" height="{h}" class="{css}">'
                         f'<title>{escape(label)} · {escape(name)}: {shown}</title></rect>'
                         f'<text x="{round(bx + (bar_width - 4) / 2, 1)}" y="{base - h - 4}" text-anchor="middle" '
                         f'class="value">{shown}</text>'
                         f'<text x="{round(bx + (bar_width - 4) / 2, 1)}" y="{base + 14}" text-anchor="middle" '
                         f'class="axis">{escape(name)}</text>')
        parts.append(f'<text x="{round(x0 + (group_width - 20) / 2, 1)}" y="{base + 32}" text-anchor="middle" '
                     f'class="label">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
