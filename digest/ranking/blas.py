"""BLAS thread limits for the ranking's products.

threadpoolctl's `threadpool_limits` looks for the loaded libraries on every call (4 ms,
reading the process's memory map), and a send worker ranks the day in many chunks, each
taking a limit or two: the libraries are found once, when the first limit is taken (by
then NumPy, SciPy and scikit-learn have loaded theirs).
"""

from __future__ import annotations

import threading

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None
_lock = threading.Lock()


def blas_threads(limit: int):
    """A context in which BLAS runs on at most `limit` threads."""
    global _controller
    with _lock:
        if _controller is None:
            _controller = ThreadpoolController()
    return _controller.limit(limits=limit, user_api="blas")
