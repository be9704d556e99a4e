"""Refit benchmark: the learners of subscribers whose answers changed, through the product's
own code (`subscriptions.learners.learners_refit`) on a real database.

    .venv/bin/python bench/bench_refit.py                       # 3,000 subscribers, 1 process
    .venv/bin/python bench/bench_refit.py --processes 2         # as two send workers

A fresh SQLite file in a temporary folder gets 2,000 papers and the subscribers, each with
keywords and 20 to 200 answered papers (two thirds "yes"), bulk-created. The papers' encoder
vectors are put in the machine's store first, as ingestion does; then two phases run:

1. batches: `learners_refit` over batches of 500 subscribers, as `manage.py refit_learners`
   runs after a model change: read the answers, hash the answered papers' words, fit,
   store every learner in one upsert;
2. requested: one answer changed for each of `--tasks` subscribers through
   `services.feedback_record` (which records each refit request), then the refit of every
   waiting subscriber as the debounced `refit_requested_learners` task does it: the requested
   batches of `REFIT_BATCH`, each a task;
3. one per call: one more answer changed for each of them, then one `learners_refit` call
   per subscriber, as the papers step refits in the request.

With `--processes N` each phase's batches are split over N forked processes, as refit tasks
spread over the send workers. It prints subscribers per second for each phase.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_delivery import seed, setup_environment  # noqa: E402


def seed_answers(rng: random.Random, low: int = 20, high: int = 200) -> int:
    from digest.models import Paper
    from subscriptions.models import Feedback, Subscriber

    papers = list(Paper.objects.values_list("pk", flat=True))
    rows = []
    for sid in Subscriber.objects.values_list("pk", flat=True):
        answered = rng.sample(papers, rng.randint(low, high))
        cut = len(answered) * 2 // 3
        rows += [
            Feedback(subscriber_id=sid, paper_id=pid, signal=1 if n < cut else -1)
            for n, pid in enumerate(answered)
        ]
    Feedback.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def warm_store() -> float:
    """The papers' vectors and the background, as ingestion and a first refit leave them."""
    from digest.models import Paper
    from digest.ranking import semantic
    from digest.ranking.learner import paper_rows
    from subscriptions import learners as learning

    start = time.perf_counter()
    encoder = semantic.encoder()
    assert encoder is not None, "the learners need the sentence encoder"
    texts = list(Paper.objects.values_list("title_text", "abstract_text"))
    paper_rows(encoder, texts, learning.CONFIG)
    learning.background(encoder)
    return time.perf_counter() - start


def _refit(batches: list[list[int]]) -> int:
    from django.db import connection

    from subscriptions import learners as learning

    connection.close()  # a forked process opens its own connection
    return sum(learning.learners_refit(batch) for batch in batches)


def run(batches: list[list[int]], processes: int) -> tuple[float, int]:
    """Refits these batches in `processes` forked processes; wall seconds and learners written."""
    from django.db import connections

    start = time.perf_counter()
    if processes > 1:
        connections.close_all()
        shares = [batches[i::processes] for i in range(processes)]
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            written = sum(pool.map(_refit, shares))
    else:
        written = _refit(batches)
    return time.perf_counter() - start, written


def change_one_answer(subscriber_ids: list[int]) -> None:
    """As a subscriber's click does: through the service, which records the refit request."""
    from subscriptions import services
    from subscriptions.models import Feedback, Subscriber

    for subscriber in Subscriber.objects.filter(pk__in=subscriber_ids):
        answer = Feedback.objects.filter(subscriber=subscriber).select_related("paper").first()
        assert answer is not None
        services.feedback_record(subscriber, answer.paper.arxiv_id, -answer.signal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=600, help="one-subscriber refits (phase 2)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        setup_environment(Path(folder), port=0, chunk=500)
        seed(args.papers, args.subscribers, rng)
        answers = seed_answers(rng)
        from subscriptions.models import Learner, Subscriber

        ids = sorted(Subscriber.objects.values_list("pk", flat=True))
        print(
            f"{args.papers} papers, {len(ids)} subscribers with {answers / len(ids):.0f} "
            f"answers on average; vectors and background warmed in {warm_store():.1f} s"
        )
        load = os.getloadavg()[0]
        batches = [ids[a : a + args.batch] for a in range(0, len(ids), args.batch)]
        seconds, written = run(batches, args.processes)
        assert Learner.objects.count() == len(ids) == written
        print(
            f"batches of {args.batch}: {written} learners in {seconds:.2f} s = "
            f"{written / seconds:.0f} subscribers/s ({args.processes} process(es), host load "
            f"{load:.1f} on {os.cpu_count()} cores)"
        )
        due = ids[: args.tasks]
        change_one_answer(due)
        from subscriptions import learners as learning

        load = os.getloadavg()[0]
        start = time.perf_counter()
        requested = learning.requested_batches()
        _, written = run(requested, args.processes)
        seconds = time.perf_counter() - start  # reading the requests counts too
        assert written == len(due) and not learning.requested_batches()
        print(
            f"requested refits, as the debounced task runs them: {written} learners in "
            f"{len(requested)} batch(es), {seconds:.2f} s = {written / seconds:.0f} "
            f"subscribers/s ({args.processes} process(es), host load {load:.1f})"
        )
        change_one_answer(due)
        load = os.getloadavg()[0]
        seconds, written = run([[sid] for sid in due], args.processes)
        assert written == len(due)
        print(
            f"one subscriber per call (the papers step): {written} learners in {seconds:.2f} s = "
            f"{written / seconds:.0f} subscribers/s ({args.processes} process(es), host load "
            f"{load:.1f})"
        )


if __name__ == "__main__":
    main()
