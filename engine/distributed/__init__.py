"""Batches on a Dask cluster: `policy evaluate … --dask SCHEDULER` and `policy impact … --dask SCHEDULER`.

A layer on top of engine.api, never a second way to decide: each worker loads the same store (shipped once, by
digest), and decides its partitions of the input with the same evaluator and the same batch code as one process.
See docs/scale.md.
"""
