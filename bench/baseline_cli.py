"""The plain script the whole-process benchmark compares `policy evaluate --summary` with.

    python bench/baseline_cli.py claims.jsonl > decisions.jsonl     (or - for standard input)

Reads JSON Lines, decides each claim with bench/baseline.py and writes one JSON line per claim, in
order, shaped like `policy evaluate --format json --summary`. It uses the same JSON library as the
engine (orjson), so the comparison measures the decision, validation and output, not the library.
"""
from __future__ import annotations

import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import decide, summary  # noqa: E402


def main(argv: list[str]) -> int:
    names = argv or ["-"]
    out = sys.stdout.buffer
    pending = []
    for name in names:
        stream = sys.stdin.buffer if name == "-" else open(name, "rb")
        with stream:
            for line in stream:
                if not line.strip():
                    continue
                try:
                    claim = orjson.loads(line)
                except orjson.JSONDecodeError:
                    pending.append(orjson.dumps({"claim_id": None, "error": {"code": "claim.json"}}))
                else:
                    pending.append(orjson.dumps(summary(claim, decide(claim))))
                if len(pending) >= 256:
                    out.write(b"\n".join(pending) + b"\n")
                    pending.clear()
    if pending:
        out.write(b"\n".join(pending) + b"\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
