"""The shared corpus (text captures of papers pages) parsed into papers, deduplicated by title.

Real: titles, abstracts, and for the Daily Papers capture (003_…) the author count, date and
upvotes. Synthetic, and marked so in README.md: arXiv-like ids, categories (assigned from
topic words), author names (drawn from a fixed list of invented names), and the upvotes,
growth and dates of papers the captures show no figures for.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

CORPUS = Path("/work/shared/corpus")

_DATE = re.compile(r"^([A-Z][a-z]{2} \d{1,2}, \d{4})(?:\s+(\d+))?\s*$")


@dataclass(frozen=True)
class CorpusPaper:
    key: str  # stable: sha1 of the folded title
    title: str
    abstract: str
    upvotes: int | None = None  # real, from the Daily Papers capture, when shown
    published: date | None = None  # real, same


def title_key(title: str) -> str:
    folded = re.sub(r"\W+", " ", title.casefold()).strip()
    return hashlib.sha1(folded.encode()).hexdigest()[:10]


def _listing(text: str) -> list[CorpusPaper]:
    lines = text.splitlines()[2:]
    if lines and lines[0].startswith("Subscribe"):
        lines[0] = lines[0][len("Subscribe") :]
    return [
        CorpusPaper(title_key(t), t.strip(), a.strip())
        for t, a in zip(lines[0::2], lines[1::2], strict=False)
        if t.strip() and a.strip()
    ]


def _daily(text: str) -> list[CorpusPaper]:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    papers, i = [], 0
    while i < len(blocks) and not _DATE.match(blocks[i].splitlines()[-1]):
        i += 1
    # Each paper: title, abstract, then a footer block ending in "Mon D, YYYY [upvotes]";
    # the first footer found closes the first paper, two blocks earlier.
    i = max(i - 2, 0)
    while i + 2 < len(blocks) + 1:
        title, abstract = blocks[i], blocks[i + 1] if i + 1 < len(blocks) else ""
        footer = blocks[i + 2] if i + 2 < len(blocks) else ""
        last = footer.splitlines()[-1] if footer else ""
        m = _DATE.match(last)
        published = datetime.strptime(m.group(1), "%b %d, %Y").date() if m else None
        upvotes = int(m.group(2)) if m and m.group(2) else (0 if m else None)
        if title and abstract and "\n" not in title:
            papers.append(CorpusPaper(title_key(title), title, abstract, upvotes, published))
        i += 3 if m else 2
    return papers


def load(corpus: Path = CORPUS) -> list[CorpusPaper]:
    """Every paper once (first capture wins, but the Daily Papers figures are kept)."""
    seen: dict[str, CorpusPaper] = {}
    files = sorted(corpus.glob("0*.txt"))
    daily = [f for f in files if f.read_text().lstrip().startswith("new")]
    for f in daily + [f for f in files if f not in daily]:
        parse = _daily if f in daily else _listing
        for paper in parse(f.read_text()):
            seen.setdefault(paper.key, paper)
    return sorted(seen.values(), key=lambda p: p.key)


# --- Synthetic listing around the real text (see README.md) ---------------------------------

FIRST = [
    "Wei",
    "Anna",
    "Lukas",
    "Priya",
    "Omar",
    "Sofia",
    "Hiroshi",
    "Chloé",
    "Mateo",
    "Aisha",
    "Jonas",
    "Elena",
    "Kwame",
    "Yuki",
    "Liam",
    "Zeynep",
    "Ivan",
    "Mei",
    "Tomás",
    "Fatima",
    "Noah",
    "Ingrid",
    "Rahul",
    "Léa",
    "Dmitri",
    "Amara",
    "Felix",
    "Sara",
    "Bjørn",
    "Nadia",
]
LAST = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Kowalski",
    "Haddad",
    "Nakamura",
    "Brennan",
    "Costa",
    "Varga",
    "Iyer",
    "Schäfer",
    "Delgado",
    "Petrov",
    "Adeyemi",
    "Larsen",
    "Chen",
    "Rossi",
    "Novak",
    "Aydın",
    "Fischer",
    "Mbeki",
    "Sørensen",
    "Quispe",
    "Dubois",
    "Ramírez",
    "Hoffmann",
    "Ng",
    "Castillo",
    "Wójcik",
    "Albers",
]

# Plausible arXiv categories from topic words (title words count three times).
CATEGORY_WORDS = {
    "cs.RO": [
        "robot",
        "robotic",
        "robotics",
        "manipulation",
        "locomotion",
        "grasp",
        "embodied",
        "quadrotor",
        "dexterous",
        "bimanual",
        "sim-to-real",
    ],
    "eess.AS": ["speech", "audio", "music", "voice", "acoustic", "spoken", "asr", "sound"],
    "cs.CV": [
        "image",
        "images",
        "vision",
        "visual",
        "video",
        "segmentation",
        "detection",
        "3d",
        "point",
        "pixel",
        "imagenet",
        "style",
    ],
    "cs.CL": [
        "language",
        "languages",
        "text",
        "translation",
        "multilingual",
        "lingual",
        "nlp",
        "llm",
        "llms",
        "bert",
        "sentence",
        "question",
        "dialogue",
    ],
    "cs.AI": ["agent", "agents", "reasoning", "planning", "reinforcement", "rl", "policy"],
}


def _stable(key: str, salt: str) -> int:
    return int(hashlib.sha1(f"{salt}:{key}".encode()).hexdigest()[:8], 16)


def synthetic_categories(paper: CorpusPaper) -> tuple[str, ...]:
    title = re.findall(r"[a-z0-9-]+", paper.title.casefold())
    words = re.findall(r"[a-z0-9-]+", paper.abstract.casefold())
    scores = {
        cat: 3 * sum(w in vocab for w in title) + sum(w in vocab for w in words)
        for cat, vocab in CATEGORY_WORDS.items()
    }
    ranked = sorted(scores, key=lambda c: (-scores[c], c))
    cats = [c for c in ranked if scores[c] >= 4][:2]
    return tuple(cats) + ("cs.LG",) if "cs.LG" not in cats else tuple(cats)


def synthetic_authors(paper: CorpusPaper, planted: dict[str, list[str]]) -> tuple[str, ...]:
    n = 2 + _stable(paper.key, "n") % 5
    names = []
    for j in range(n):
        first = FIRST[_stable(paper.key, f"f{j}") % len(FIRST)]
        last = LAST[_stable(paper.key, f"l{j}") % len(LAST)]
        names.append(
            f"{first[0]}. {last}" if _stable(paper.key, f"i{j}") % 4 == 0 else f"{first} {last}"
        )
    return tuple(planted.get(paper.key, [])) + tuple(names)


def to_docs(papers: list[CorpusPaper], planted: dict[str, list[str]], today: date):
    """PaperDocs for the ranking: real text, synthetic ids, categories, authors and figures."""
    from datetime import timedelta

    from digest.ranking.types import PaperDoc

    docs = []
    for i, p in enumerate(papers):
        h = _stable(p.key, "up")
        # Heavy-tailed like real upvotes: most papers few, a handful very many.
        upvotes = p.upvotes if p.upvotes is not None else int((h % 1000) ** 3 / 4e6)
        docs.append(
            PaperDoc(
                id=i + 1,
                arxiv_id=f"9999.{i + 1:05d}",
                title=p.title,
                abstract=p.abstract,
                authors=synthetic_authors(p, planted),
                categories=synthetic_categories(p),
                upvotes=upvotes,
                upvote_growth=int(upvotes * (_stable(p.key, "g") % 60) / 100),
                announced_on=today - timedelta(days=_stable(p.key, "d") % 3),
            )
        )
    return docs
