"""The day's ranking as the send workers run it, for bench/bench_ranking.py: the subscribers
split into shares, each share ranked in its own forked process (the send queue runs one
worker process per core; each fits the day's papers once and ranks the chunks it takes).

Each process reports its CPU time and its peak RSS. A forked process starts with the
parent's resident pages mapped (here the generated papers and profiles), and Linux counts
them in each child's RSS although they are shared until written: the sum of the peaks
over-counts by about (processes - 1) times the parent's RSS at the fork, reported beside it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import resource
import time
from collections.abc import Sequence

from digest.ranking.ranker import Ranker
from digest.ranking.text import TextConfig
from digest.ranking.types import PaperDoc, Pick, Profile

# What the forked processes read (set before they start, shared copy-on-write).
_SHARED: dict = {}


def shares(profiles: Sequence[Profile], processes: int) -> list[Sequence[Profile]]:
    """Consecutive shares of nearly equal size, as chunks of deliveries fall to workers."""
    n = len(profiles)
    return [profiles[n * i // processes : n * (i + 1) // processes] for i in range(processes)]


def fingerprint(result: dict[int, list[Pick]], subscribers: Sequence[int]) -> str:
    """A digest of these subscribers' picks (paper, score and reason, in order)."""
    h = hashlib.sha256()
    for sid in subscribers:
        h.update(repr((sid, [(p.paper_id, p.score, p.reason) for p in result[sid]])).encode())
    return h.hexdigest()


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rank_share(i: int) -> dict:
    papers, share, text, chunk = (_SHARED[k] for k in ("papers", "shares", "text", "chunk"))
    share = share[i]
    at_start = rss_mb()
    cpu = time.process_time()
    start = time.perf_counter()
    result = Ranker.fit(papers, text=text).rank(share, chunk_size=chunk)
    wall = time.perf_counter() - start
    return {
        "wall": wall,
        "cpu": time.process_time() - cpu,
        "rss_at_start": at_start,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "picks": sum(len(v) for v in result.values()),
        "empty": sum(1 for v in result.values() if not v),
        "fingerprint": fingerprint(result, [p.subscriber_id for p in share]),
    }


def rank_in_processes(
    papers: Sequence[PaperDoc],
    profiles: Sequence[Profile],
    text: TextConfig,
    chunk: int,
    processes: int,
) -> tuple[float, list[dict]]:
    """Wall time of the whole day (forks included) and each process's figures."""
    _SHARED.update(papers=papers, shares=shares(profiles, processes), text=text, chunk=chunk)
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes, maxtasksperchild=1) as pool:
        figures = pool.map(_rank_share, range(processes), chunksize=1)
    wall = time.perf_counter() - start
    _SHARED.clear()
    return wall, figures


def report(wall: float, figures: list[dict], parent_rss: float, expected: list[str] | None) -> str:
    """The figures as the benchmark prints them; `expected`: each share's fingerprint in
    the one-process run, to check the picks are the same."""
    walls = ", ".join(f"{f['wall']:.2f}" for f in figures)
    peaks = ", ".join(f"{f['peak_rss']:.0f} (from {f['rss_at_start']:.0f})" for f in figures)
    same = ""
    if expected is not None:
        differ = [
            i
            for i, (f, e) in enumerate(zip(figures, expected, strict=True))
            if f["fingerprint"] != e
        ]
        same = f"picks DIFFER in shares {differ}" if differ else "picks identical"
        same = f"; {same} to the one-process run's"
    return (
        f"ranked in {len(figures)} forked processes (each fits the day, then ranks its "
        f"share): {wall:.2f} s wall for the day, {sum(f['cpu'] for f in figures):.2f} s CPU "
        f"in sum (fit + rank per process: {walls} s); {sum(f['picks'] for f in figures)} "
        f"picks, {sum(f['empty'] for f in figures)} empty digests{same}; peak RSS per process "
        f"{peaks} MB, sum {sum(f['peak_rss'] for f in figures):.0f} MB (over-counts: each "
        f"counts, from its start, pages of the {parent_rss:.0f} MB the parent held at the "
        f"fork, shared; host load average {os.getloadavg()[0]:.1f} at the end)"
    )
