"""The control plane: an HTTP API over the run store, a data proxy, a scheduler and executors.

Start it with ``flyte start devbox``, or build the app with
``flyte.server.app.create_app(ServerSettings(...))``. The contract between this server, the
client (``flyte.remote``) and the workers is ``docs/control-plane.md``. Nothing here is imported
by ``import flyte``; FastAPI and uvicorn are needed only to serve (``pip install
'flyte-engine[server]'``).
"""

from flyte.server.settings import ServerSettings

__all__ = ["ServerSettings"]
