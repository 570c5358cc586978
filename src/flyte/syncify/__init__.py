"""Call async functions from sync code: ``@syncify`` gives an async function a blocking form
(``f(...)``) and keeps the awaitable one as ``f.aio(...)``::

    from flyte.syncify import syncify

    @syncify
    async def fetch(x: str) -> str: ...

    fetch("a")              # blocks
    await fetch.aio("a")    # from async code

``Syncify("name")`` makes a decorator with its own background loop.
"""

from flyte.syncify._api import SyncFunction, SyncGenFunction, Syncify

syncify = Syncify()

__all__ = ["SyncFunction", "SyncGenFunction", "Syncify", "syncify"]
