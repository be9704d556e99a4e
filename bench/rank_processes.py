"""The day's ranking as the send workers run it, for bench/bench_ranking.py: forked processes
(the send queue runs one worker process per core) each fit the day's papers once, then take
the day's tasks one at a time, DELIVERY_CHUNK_SIZE deliveries each, one ranking call per
task, until none is left: as Celery workers with a prefetch of 1
(CELERY_WORKER_PREFETCH_MULTIPLIER) take them from the queue, so a process slowed by its
neighbours takes fewer tasks. The day is ranked when the last process has ranked its last
task; what the benchmark does after that (checking every pick against the one-process run,
sending the results back) is reported apart.

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
    """Consecutive shares of nearly equal size (for one call per process: --task-size 0)."""
    n = len(profiles)
    return [profiles[n * i // processes : n * (i + 1) // processes] for i in range(processes)]


def _next_task(size: int) -> Sequence[Profile]:
    """The next task's subscribers (empty: the day is done), taken under the shared lock."""
    counter, profiles = _SHARED["counter"], _SHARED["profiles"]
    with counter.get_lock():
        start = counter.value
        counter.value = start + size
    return profiles[start : start + size]


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
    at_start = rss_mb()
    cpu = time.process_time()
    start = time.monotonic()  # one clock for every process: the day ends at the last one's end
    ranker = Ranker.fit(papers, text=text)  # once per worker: picking.ranker_for keeps it
    result: dict[int, list[Pick]] = {}
    tasks = 0
    if task:
        while batch := _next_task(task):
            result.update(ranker.rank(batch, chunk_size=chunk))
            tasks += 1
    else:
        result.update(ranker.rank(_SHARED["shares"][i], chunk_size=chunk))
        tasks = 1
    finished = time.monotonic()
    return {
        "wall": finished - start,
        "finished": finished,
        "tasks": tasks,
        "subscribers": len(result),
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
    """Wall time of the day, from the forks to the last process's last task, and each
    process's figures. The processes take tasks of `task` subscribers from one queue (0: each
    ranks a consecutive share in one call)."""
    context = multiprocessing.get_context("fork")
    _SHARED.update(
        papers=papers,
        profiles=profiles,
        shares=shares(profiles, processes),
        counter=context.Value("q", 0),
        text=text,
        chunk=chunk,
        task=task,
    )
    start = time.monotonic()
    with context.Pool(processes, maxtasksperchild=1) as pool:
        figures = pool.map(_rank_share, range(processes), chunksize=1)
    collected = time.monotonic()
    _SHARED.clear()
    for figure in figures:
        figure["collected_after"] = collected - figure["finished"]
    return max(f["finished"] for f in figures) - start, figures


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
    walls = ", ".join(f"{f['wall']:.2f} ({f['tasks']} tasks)" for f in figures)
    checked = max(f["collected_after"] for f in figures)
    peaks = ", ".join(f"{f['peak_rss']:.0f} (from {f['rss_at_start']:.0f})" for f in figures)
    calls = f"takes tasks of {task} from one queue" if task else "ranks its share in one call"
    return (
        f"ranked in {len(figures)} forked processes (each fits the day, then {calls}): "
        f"{wall:.2f} s wall for the day, forks to the last task (then {checked:.2f} s to send "
        f"back and check the picks), {sum(f['cpu'] for f in figures):.2f} s CPU "
        f"in sum (fit + rank per process: {walls} s); {sum(f['picks'] for f in figures)} "
        f"picks, {sum(f['empty'] for f in figures)} empty digests; "
        f"{_compared(figures, expected)}; peak RSS per process {peaks} MB, sum "
        f"{sum(f['peak_rss'] for f in figures):.0f} MB (over-counts: each counts, from its "
        f"start, pages of the {parent_rss:.0f} MB the parent held at the fork, shared; host "
        f"load average {os.getloadavg()[0]:.1f} at the end)"
    )
