"""flytekit 1.x programs, written for these tests, run unchanged on flyte-engine."""
