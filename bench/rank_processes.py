"""The day's ranking as the send workers run it, for bench/bench_ranking.py: the subscribers
split into shares, each share ranked in its own forked process (the send queue runs one
worker process per core; each fits the day's papers once, then ranks the tasks it takes,
DELIVERY_CHUNK_SIZE deliveries each, one call per task).

Each process reports its CPU time and its peak RSS. A forked process starts with the
parent's resident pages mapped (here the generated papers and profiles), and Linux counts
them in each child's RSS although they are shared until written: the sum of the peaks
over-counts by up to (processes - 1) times the parent's RSS at the fork, reported beside it.
"""

from __future__ import annotations

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


def fingerprints(result: dict[int, list[Pick]]) -> dict[int, tuple[int, int]]:
    """Per subscriber, a hash of their picked papers (as a set) and of the picks in full
    (papers in order, scores, reasons). Forked processes share the string hash seed."""
    return {
        sid: (hash(frozenset(p.paper_id for p in picks)), hash(tuple(picks)))
        for sid, picks in result.items()
    }


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rank_share(i: int) -> dict:
    papers, text, chunk, task = (_SHARED[k] for k in ("papers", "text", "chunk", "task"))
    share = _SHARED["shares"][i]
    size = task or len(share) or 1
    at_start = rss_mb()
    cpu = time.process_time()
    start = time.perf_counter()
    ranker = Ranker.fit(papers, text=text)  # once per worker: picking.ranker_for keeps it
    result: dict[int, list[Pick]] = {}
    for a in range(0, len(share), size):
        result.update(ranker.rank(share[a : a + size], chunk_size=chunk))
    wall = time.perf_counter() - start
    return {
        "wall": wall,
        "cpu": time.process_time() - cpu,
        "rss_at_start": at_start,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "picks": sum(len(v) for v in result.values()),
        "empty": sum(1 for v in result.values() if not v),
        "fingerprints": fingerprints(result),
    }


def rank_in_processes(
    papers: Sequence[PaperDoc],
    profiles: Sequence[Profile],
    text: TextConfig,
    *,
    chunk: int,
    processes: int,
    task: int,
) -> tuple[float, list[dict]]:
    """Wall time of the whole day (forks included) and each process's figures. Each process
    ranks its share in calls of `task` subscribers (0: the whole share in one call)."""
    _SHARED.update(
        papers=papers, shares=shares(profiles, processes), text=text, chunk=chunk, task=task
    )
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes, maxtasksperchild=1) as pool:
        figures = pool.map(_rank_share, range(processes), chunksize=1)
    wall = time.perf_counter() - start
    _SHARED.clear()
    return wall, figures


def _compared(figures: list[dict], expected: dict[int, tuple[int, int]]) -> str:
    found = {sid: f for figure in figures for sid, f in figure["fingerprints"].items()}
    papers = sum(1 for sid, f in found.items() if f[0] != expected[sid][0])
    anything = sum(1 for sid, f in found.items() if f != expected[sid])
    if not anything:
        return "every subscriber's picks identical to the one-process run's"
    return (
        f"picks differ from the one-process run's for {anything} subscribers "
        f"({papers} of them in which papers, the others in order, scores or reasons only)"
    )


def report(
    wall: float,
    figures: list[dict],
    *,
    parent_rss: float,
    task: int,
    expected: dict[int, tuple[int, int]],
) -> str:
    """The figures as the benchmark prints them; `expected`: the one-process run's
    fingerprints, to compare the picks."""
    walls = ", ".join(f"{f['wall']:.2f}" for f in figures)
    peaks = ", ".join(f"{f['peak_rss']:.0f} (from {f['rss_at_start']:.0f})" for f in figures)
    calls = f"in calls of {task}" if task else "in one call"
    return (
        f"ranked in {len(figures)} forked processes (each fits the day, then ranks its share "
        f"{calls}): {wall:.2f} s wall for the day, {sum(f['cpu'] for f in figures):.2f} s CPU "
        f"in sum (fit + rank per process: {walls} s); {sum(f['picks'] for f in figures)} "
        f"picks, {sum(f['empty'] for f in figures)} empty digests; "
        f"{_compared(figures, expected)}; peak RSS per process {peaks} MB, sum "
        f"{sum(f['peak_rss'] for f in figures):.0f} MB (over-counts: each counts, from its "
        f"start, pages of the {parent_rss:.0f} MB the parent held at the fork, shared; host "
        f"load average {os.getloadavg()[0]:.1f} at the end)"
    )
