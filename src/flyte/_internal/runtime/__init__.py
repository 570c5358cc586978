"""Executing one action: shared by the local controller and the remote entrypoint."""
