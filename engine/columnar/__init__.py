"""The columnar batch engine: the same checked policy compiled a second way, to NumPy operations over a batch.

`compiler.py` compiles the checked tree (engine.language) to functions of a whole batch of claims, over the
columns of `columns.py` (with `builtin_arrays.py`, the built-ins computed on arrays); `batch.py`
decides a chunk of raw claims with them. A claim the columns cannot decide with certainty (a missing value, a
failed input check, any fault) is decided by the per-claim engine, so results are never different.
"""
