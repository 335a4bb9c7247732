"""Database calls with a deadline: a database that stops answering (a stalled server, a network that drops
packets silently) gets its requests a 503 within the deadline instead of none at all.

The drivers give no deadline of their own on a connection already open: PostgreSQL's statement_timeout is kept by
the server (a stalled one keeps nothing) and a kernel still acknowledges the packets of a stopped process, so TCP
timeouts never fire. The call runs in a thread of its own pool and the request stops waiting for it at the
deadline; the thread finishes whenever the database answers. What it wrote then stands, unacknowledged: a decision
logged but never given, or a grant whose Idempotency-Key answers the retry."""
from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from engine.core.i18n import msg

T = TypeVar("T")

# its own threads: calls stuck on a stalled database must not hold up what other threads do (checks, reloads)
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="database")


class DatabaseSlow(Exception):
    """The database did not answer within the deadline."""


async def waited(future, seconds: float) -> Any:
    """`future` (asyncio or concurrent), awaited for at most `seconds`; never cancelled, so that what it does
    finishes. Raises DatabaseSlow."""
    try:
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future) if not asyncio.isfuture(future)
                                                     else future), seconds)
    except TimeoutError:
        raise DatabaseSlow(msg("the database did not answer within {seconds} s", seconds=f"{seconds:g}")) from None


async def in_thread(seconds: float, call: Callable[..., T], *args, **kwargs) -> T:
    """`call(*args, **kwargs)` in a database thread, its result awaited for at most `seconds`."""
    future = asyncio.get_running_loop().run_in_executor(_POOL, functools.partial(call, *args, **kwargs))
    return await waited(future, seconds)


def within(seconds: float, call: Callable[..., T], *args, **kwargs) -> T:
    """The same for a route that is not async: its thread waits for the database's for at most `seconds`."""
    try:
        return _POOL.submit(call, *args, **kwargs).result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        raise DatabaseSlow(msg("the database did not answer within {seconds} s", seconds=f"{seconds:g}")) from None
