"""The columnar batch engine: the same checked policy compiled a second way, to NumPy operations over a batch.

`columns.py` compiles the checked tree (engine.language) to functions of a whole batch of claims; `batch.py`
decides a chunk of raw claims with them. A claim the columns cannot decide with certainty (a missing value, a
failed input check, any fault) is decided by the per-claim engine, so results are never different.
"""
