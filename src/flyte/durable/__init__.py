"""Durable replacements for clock, sleep and random calls inside tasks.

``time.time()``, ``datetime.now()``, ``time.sleep()`` and ``random`` give a different answer
every time a task runs, so a recovered run would not retrace its steps. The functions here
record their value as a trace call of the running action; a recovering run replays them:

- :func:`time` / :func:`now`: the recorded clock (``time.time()`` / ``datetime.now()``);
- :func:`sleep`: sleeps until ``seconds`` after the first time the call was reached, so a
  recovered run only sleeps for what is left;
- :func:`random` / :func:`randint`: recorded random values (not in the reference SDK).

Each is a blocking call, with an awaitable form: ``await flyte.durable.sleep.aio(3600)``.
Outside a task they behave like the plain functions.
"""

from flyte.durable._values import now, randint, random, sleep, time

__all__ = ["now", "randint", "random", "sleep", "time"]
