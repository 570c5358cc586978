"""Deployed work on the control plane: the registry of task versions and triggers, the trigger
clock, the schedule arithmetic and the service that fires triggers (docs/deploy.md)."""
