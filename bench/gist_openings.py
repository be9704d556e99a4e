"""How many gists lean on a sentence before them, over every real abstract we hold.

    DEBUG=1 .venv/bin/python bench/gist_openings.py [--before 529a40b] [--pairs 30] [--still]

The abstracts: the bundled snapshot (digest/snapshot/, parsed by the real adapters and
cleaned as ingestion cleans them) and the shared corpus (/work/shared/corpus/, parsed by
bench/relevance/corpus.py), deduplicated by title. A gist "opens dependently" when its
first words are an anaphoric or connective phrase ("To address this issue", "However",
"This", "These", "Moreover", "It", ...) that points at a sentence the reader of the card
never sees (`standalone.opens_dependently`); "leans on context" adds the short
sentences that end by pointing back ("... we study the following research questions.").
Both are counted over the gist as the card shows it, for the chooser as it stood at the
commit `--before` (read from git) and as it stands in the work tree. `--pairs` prints
that many abstracts whose gist changed, before and after, for reading by eye; `--still`
prints every gist that still opens dependently.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench" / "relevance")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")

import django  # noqa: E402

django.setup()

import corpus  # noqa: E402

from digest.delivery import gists, standalone  # noqa: E402
from digest.ingest.pipeline import SNAPSHOT_DIR, SNAPSHOT_FILES  # noqa: E402
from digest.sources.registry import get_adapter  # noqa: E402
from digest.sources.text import readable  # noqa: E402


def abstracts() -> list[tuple[str, str, str]]:
    """(origin, title, abstract) for each distinct title."""
    out: dict[str, tuple[str, str, str]] = {}
    for name, kind in SNAPSHOT_FILES:
        for record in get_adapter(kind).parse((SNAPSHOT_DIR / name).read_bytes()):
            title, abstract = readable(record.title), readable(record.abstract or "")
            out.setdefault(corpus.title_key(title), ("snapshot", title, abstract))
    for paper in corpus.load():
        out.setdefault(paper.key, ("corpus", paper.title, paper.abstract))
    return [entry for entry in out.values() if gists.sentences(entry[2])]


def chooser_at(commit: str) -> types.ModuleType:
    """gists.py as it stood at `commit` (it imports nothing of ours there)."""
    source = subprocess.run(
        ["git", "show", f"{commit}:digest/delivery/gists.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("gists_before")
    module.__dict__["__package__"] = "digest.delivery"
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, f"{commit}:gists.py", "exec"), module.__dict__)  # noqa: S102
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="529a40b", help="commit of the old chooser")
    parser.add_argument("--pairs", type=int, default=30, help="changed gists to print")
    parser.add_argument("--still", action="store_true", help="print every dependent gist")
    args = parser.parse_args()

    old = chooser_at(args.before)
    entries = abstracts()
    opens = {"before": 0, "after": 0}
    leans = {"before": 0, "after": 0}
    changed = reworded = 0
    pairs = []
    for origin, title, abstract in entries:
        parts = gists.sentences(abstract)
        chosen = gists.choose(title, parts)
        shown = {"before": old.choose_from(title, parts), "after": chosen.text}
        for when, gist in shown.items():
            opens[when] += standalone.opens_dependently(gist)
            leans[when] += standalone.leans_on_context(gist)
        if shown["after"] != shown["before"]:
            changed += 1
            # The old chooser showed a sentence as it is; the same sentence now is a cut.
            reworded += parts.index(shown["before"]) == chosen.position
            pairs.append((origin, title, shown["before"], shown["after"]))
        if args.still and standalone.opens_dependently(shown["after"]):
            print(f"STILL [{origin}] {title}\n  {shown['after']}\n")
    snapshot = sum(origin == "snapshot" for origin, *_ in entries)
    print(
        f"{len(entries)} abstracts ({snapshot} snapshot, {len(entries) - snapshot} corpus)\n"
        f"gist opens dependently: {opens['before']} before, {opens['after']} after\n"
        f"gist leans on context (also short, ending on 'this ...'): "
        f"{leans['before']} before, {leans['after']} after\n"
        f"gists changed: {changed} ({reworded} cut to stand alone, "
        f"{changed - reworded} another sentence)"
    )
    for origin, title, before, after in random.Random(7).sample(pairs, min(args.pairs, len(pairs))):
        print(f"\n[{origin}] {title}\n  before: {before}\n  after:  {after}")


if __name__ == "__main__":
    main()
