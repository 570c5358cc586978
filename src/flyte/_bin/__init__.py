"""Processes the control plane starts: ``python -m flyte._bin.worker`` runs actions it claims."""
