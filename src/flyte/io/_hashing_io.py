"""The reference SDK's module path for the hash helpers (``from flyte.io._hashing_io import ...``).

Programs written for the reference import ``PrecomputedValue`` and friends from here; the
implementations live in :mod:`flyte.io._hashing`.
"""

from flyte.io._hashing import HashFunction, HashlibAccumulator, HashMethod, PrecomputedValue

__all__ = ["HashFunction", "HashMethod", "HashlibAccumulator", "PrecomputedValue"]
