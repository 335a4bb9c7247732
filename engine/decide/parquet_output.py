"""`policy evaluate --summary --format parquet`: the summaries as a Parquet table, one row a claim, in input order.

Every path that decides a batch (claim by claim, by columns, --jobs, --dask, folders of parts) writes the same JSON
summary lines; this module turns those lines into rows, so a Parquet file holds exactly what the JSON Lines would.
Columns (docs/cli.md#parquet-output):

- claim_id, policy_id, policy_version, policy_digest, combined_digest: text;
- decision_date, known_on: dates (date32);
- eligible: boolean; amount: text, the exact decimal the JSON line carries (any number of decimal places, where a
  Parquet decimal would fix one for the whole file); currency: text; failed_rules: a list of text;
- out_of_force: the JSON object, as text, when a pinned version decided outside its days in force;
- error_code, error_message, error_path, error_location: text, for a claim that was not decided; error: the whole
  error object as JSON text (its details differ by code).

A decision leaves the error columns null; an error leaves eligible, amount and failed_rules null.
pyarrow comes with the `dask` extra and is imported only when Parquet is written.
"""
from __future__ import annotations

import json
from typing import BinaryIO

import orjson

from engine.core.i18n import tr
from engine.core.reasons import os_reason
from engine.decide.output import EXIT_CANNOT_WRITE, FileOutput, OutputRefused

ROWS_PER_GROUP = 65_536  # a row group holds this many claims: bounded memory, and groups large enough to scan fast
EXIT_NO_PYARROW = 69  # sysexits EX_UNAVAILABLE, as for a missing Dask

_TEXT_COLUMNS = ("claim_id", "policy_id", "policy_version", "policy_digest", "combined_digest")
_DATE_COLUMNS = ("decision_date", "known_on")
_ERROR_COLUMNS = ("error_code", "error_message", "error_path", "error_location")


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise OutputRefused(tr("writing Parquet needs pyarrow (pip install 'policy-engine[dask]')"),
                            EXIT_NO_PYARROW) from None
    return pa, pq


def summary_schema():
    pa, _ = _pyarrow()
    text = pa.string()
    return pa.schema([*((name, text) for name in _TEXT_COLUMNS), *((name, pa.date32()) for name in _DATE_COLUMNS),
                      ("eligible", pa.bool_()), ("amount", text), ("currency", text),
                      ("failed_rules", pa.list_(text)), ("out_of_force", text),
                      *((name, text) for name in _ERROR_COLUMNS), ("error", text)])


def _text(value) -> str | None:
    """Text as it is; anything else a claim put where text belongs (an id that is a number) as its JSON."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _json_text(value) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _record(line: bytes) -> dict:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        # a line the standard encoder wrote, where orjson could not (an integer beyond 64 bits): kept as its digits
        return json.loads(line, parse_int=str)


class Rows:
    """Columns filling up, one summary line at a time."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {name: [] for name in summary_schema().names}

    def __len__(self) -> int:
        return len(self.columns["claim_id"])

    def add(self, line: bytes) -> None:
        record = _record(line)
        c = self.columns
        policy = record.get("policy") or {}
        error = record.get("error") or {}
        c["claim_id"].append(_text(record.get("claim_id")))
        c["policy_id"].append(policy.get("id"))
        c["policy_version"].append(policy.get("version"))
        c["policy_digest"].append(policy.get("digest"))
        c["combined_digest"].append(record.get("combined_digest"))
        c["decision_date"].append(record.get("decision_date"))
        c["known_on"].append(record.get("known_on"))
        c["eligible"].append(record.get("eligible"))
        c["amount"].append(record.get("amount"))
        c["currency"].append(record.get("currency"))
        c["failed_rules"].append(record.get("failed_rules"))
        c["out_of_force"].append(_json_text(record.get("out_of_force")))
        for column, key in zip(_ERROR_COLUMNS, ("code", "message", "path", "location"), strict=True):
            c[column].append(_text(error.get(key)))
        c["error"].append(_json_text(error) if error else None)

    def table(self):
        pa, _ = _pyarrow()
        schema = summary_schema()
        arrays = []
        for field in schema:
            values = self.columns[field.name]
            if field.type == pa.date32():  # ISO texts, which the summary writes for every date
                arrays.append(pa.array(values, pa.string()).cast(pa.date32()))
                continue
            arrays.append(pa.array(values, field.type))  # text is valid Unicode: the readers refuse lone surrogates
        return pa.Table.from_arrays(arrays, schema=schema)


class ParquetStream:
    """Summary lines in, Parquet out to `sink` (a binary file); `close` writes what is left and the footer."""

    def __init__(self, sink: BinaryIO):
        _, pq = _pyarrow()
        self.writer = pq.ParquetWriter(sink, summary_schema())
        self.rows = Rows()
        self.rest = b""  # the start of a line whose end has not come yet

    def write(self, data: bytes) -> None:
        lines = (self.rest + data).split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            if line:
                self.rows.add(line)
                if len(self.rows) >= ROWS_PER_GROUP:
                    self._flush_rows()

    def _flush_rows(self) -> None:
        if len(self.rows):
            self.writer.write_table(self.rows.table())
            self.rows = Rows()

    def flush(self) -> None:
        """Nothing to do: rows go out a whole row group at a time (a reader sees the file only when it is whole)."""

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        if self.rest:
            self.rows.add(self.rest)
            self.rest = b""
        self._flush_rows()
        self.writer.close()


class ParquetFileOutput(FileOutput):
    """`--output FILE --format parquet`: as FileOutput, a temporary file renamed to FILE when the run ends."""

    def __init__(self, target: str):
        super().__init__(target)
        try:
            self.stream = ParquetStream(self.handle)
        except OutputRefused:
            super().abort()
            raise
        except OSError as exc:
            super().abort()
            raise OutputRefused(tr("cannot write the output to {file}: {reason}", file=target,
                                   reason=os_reason(exc)), EXIT_CANNOT_WRITE) from None

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()

    def commit(self) -> None:
        self.stream.close()
        super().commit()

    def abort(self) -> None:
        super().abort()
