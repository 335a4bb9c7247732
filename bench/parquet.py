"""Claims as JSON Lines → the same claims as Parquet, columns typed by a policy's input schema (docs/scale.md).

    python bench/parquet.py claims.jsonl claims.parquet [--dates date32|text] [--money text|decimal128]
        [--row-group N] [--kept kept.jsonl] [--policies DIR --schemas DIR --policy ID]

Each line is read by the engine's own JSON reader (engine.claims.reader.read_json: numbers exact, repeated keys
refused). Nested records become struct columns, lists list columns, integers int64, text and booleans strings and
booleans; dates date32, or with --dates text their text as it is; money (a number fact) text written exactly as the
JSON reader read it (`1234.50` → "1234.50"), or with --money decimal128 a decimal128(38, 10) (the same value at
another scale). A claim the columns cannot hold is left out, and counted: a line the reader refuses, a value of
another JSON type than its fact, an unknown fact, an explicit null, an integer fact written with a fraction, and,
with date32, a date that is not YYYY-MM-DD or not a real calendar date. --kept writes the JSON Lines of the claims
that were kept, in order, so that the two files hold the same claims (tests/test_parquet.py compares decisions).
"""
from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.api import Engine  # noqa: E402
from engine.claims.reader import read_json  # noqa: E402
from engine.language.types import BOOL, DATE, DECIMAL, INT, STRING, ListOf, Nullable, Record  # noqa: E402

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def arrow_type(t, dates: str = "date32", money: str = "text"):
    t = t.inner if isinstance(t, Nullable) else t
    if isinstance(t, Record):
        return pa.struct([pa.field(f.name, arrow_type(f.type, dates, money)) for f in t.fields])
    if isinstance(t, ListOf):
        return pa.list_(arrow_type(t.item, dates, money))
    return {BOOL: pa.bool_(), INT: pa.int64(), STRING: pa.string(),
            DECIMAL: pa.decimal128(38, 10) if money == "decimal128" else pa.string(),
            DATE: pa.date32() if dates == "date32" else pa.string()}[t]


def fitted(value, t, dates: str = "date32", money: str = "text"):
    """The value as its column holds it, or raise ValueError when the column cannot hold it."""
    t = t.inner if isinstance(t, Nullable) else t
    if value is None:
        raise ValueError("an explicit null")  # a null column is a fact left out, not a null fact
    if isinstance(t, Record):
        if not isinstance(value, dict) or set(value) - {f.name for f in t.fields}:
            raise ValueError("not this record")
        return {f.name: fitted(value[f.name], f.type, dates, money) if f.name in value else None for f in t.fields}
    if isinstance(t, ListOf):
        if not isinstance(value, list):
            raise ValueError("not a list")
        return [fitted(v, t.item, dates, money) for v in value]
    if isinstance(value, bool):
        if t == BOOL:
            return value
    elif t == INT and isinstance(value, int):
        if not -2**63 <= value < 2**63:  # an int64 column holds no more
            raise ValueError("beyond 64 bits")
        return value
    elif t == DECIMAL and isinstance(value, int | Decimal):
        if money == "decimal128":
            return Decimal(value)
        return str(value)  # the JSON reader's own value, written back as exact text
    elif t == STRING and isinstance(value, str):
        return value
    elif t == DATE and isinstance(value, str):
        if dates != "date32":
            return value
        if not _DAY.fullmatch(value):  # date.fromisoformat would also take 20240301 and 2024-W09-5
            raise ValueError("not YYYY-MM-DD")
        return date.fromisoformat(value)  # and refuses a day the calendar lacks (ValueError)
    raise ValueError("not this type")


def convert(source: Path, target: Path, record: Record, dates: str = "date32", row_group: int = 10_000,
            kept: Path | None = None, money: str = "text") -> tuple[int, int]:
    """(claims written, claims left out)."""
    schema = pa.schema([pa.field(f.name, arrow_type(f.type, dates, money)) for f in record.fields])
    written = left_out = 0
    rows: list = []
    keep = kept.open("wb") if kept else None
    with pq.ParquetWriter(target, schema) as writer, source.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            raw = read_json(line, f"{source}:{number}")
            try:
                if raw.error is not None:
                    raise ValueError(raw.error.message)
                rows.append(fitted(raw.data, record, dates, money))
            except ValueError:
                left_out += 1
                continue
            if keep:
                keep.write(line if line.endswith(b"\n") else line + b"\n")
            written += 1
            if len(rows) == row_group:
                writer.write_table(pa.Table.from_pylist(rows, schema), row_group_size=row_group)
                rows = []
        if rows:
            writer.write_table(pa.Table.from_pylist(rows, schema), row_group_size=row_group)
    if keep:
        keep.close()
    return written, left_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--dates", choices=["date32", "text"], default="date32")
    parser.add_argument("--money", choices=["text", "decimal128"], default="text")
    parser.add_argument("--row-group", type=int, default=10_000)
    parser.add_argument("--kept", type=Path, default=None)
    parser.add_argument("--policies", type=Path, default=ROOT / "bench" / "fixtures" / "store")
    parser.add_argument("--schemas", type=Path, default=ROOT / "bench" / "fixtures" / "schemas")
    parser.add_argument("--policy", default="jinhua/digital-engineer-subsidy")
    args = parser.parse_args()
    record = Engine.load(args.policies, args.schemas).evaluator(args.policy).input_type()
    written, left_out = convert(args.source, args.target, record, args.dates, args.row_group, args.kept,
                                args.money)
    print(f"{written} claims written, {left_out} left out (Parquet's columns cannot hold them)", file=sys.stderr)


if __name__ == "__main__":
    main()
