"""How fast this host is right now, printed beside the benchmarks' figures.

The machines the benchmarks run on are shared: the same code ranked the same 100,000
subscribers in 14.8 s at one hour and in 9.3 s an hour later. A fixed piece of work like the
ranking's (a dense float32 block scored, cut with argpartition, and a Python loop over the
result) is timed in one process and then in two at once, so each figure can be read against
the host's speed at the time, and the second shows how much a second process can add.
"""

from __future__ import annotations

import multiprocessing
import time

import numpy as np
from threadpoolctl import threadpool_limits

_ROUNDS = 20


def _work(_: int = 0) -> float:
    """Seconds for a fixed block of work shaped like a chunk of the day's ranking."""
    rng = np.random.default_rng(0)
    block = rng.random((500, 2000), dtype=np.float32)
    weights = rng.random((2000, 64), dtype=np.float32)
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # as the ranking runs its products
        for _ in range(_ROUNDS):
            scores = block @ weights @ weights.T
            scores -= block
            top = np.argpartition(scores, 10, axis=1)[:, :10].tolist()
            sum(len(str(row)) for row in top)
    return time.perf_counter() - start


def probe() -> str:
    alone = min(_work() for _ in range(3))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        together = max(pool.map(_work, range(2)))
    return (
        f"host probe: {alone * 1000:.0f} ms for the reference work in one process, "
        f"{together * 1000:.0f} ms in each of two at once (lower is a faster host)"
    )


if __name__ == "__main__":
    print(probe())
