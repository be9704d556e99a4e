"""Today's arXiv announcement feeds in rss.arxiv.org's real RSS 2.0 format, generated.

The recorded feeds in tests/fixtures/feeds are from past days, outside a digest's
window; these carry today's date so the day's digests have papers to rank.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

TOPICS = {
    "cs.LG": ["graph neural networks", "reinforcement learning", "federated learning"],
    "cs.CL": ["machine translation", "retrieval augmented generation", "speech recognition"],
    "cs.CV": ["image segmentation", "diffusion models", "object detection"],
    "stat.ML": ["bayesian optimization", "causal inference", "gaussian processes"],
}
_ADJECTIVES = ["Scalable", "Robust", "Efficient", "Sparse", "Adaptive", "Provable", "Fast"]


def arxiv_rss(category: str, count: int, now: datetime, first_number: int) -> bytes:
    """A feed of `count` new papers in `category`, announced today (US Eastern)."""
    stamp = format_datetime(now - timedelta(hours=1))
    phrases = itertools.cycle(TOPICS[category])
    adjectives = itertools.cycle(_ADJECTIVES)
    items = []
    for n in range(count):
        number = first_number + n
        arxiv_id = f"{now:%y%m}.{number:05d}"
        phrase = next(phrases)
        title = f"{next(adjectives)} {phrase.title()} for Large Models, Part {n + 1}"
        abstract = (
            f"We study {phrase} at scale. Our method improves {phrase} on standard "
            f"benchmarks and we release code. Experiment {number} in {category}."
        )
        items.append(
            f"""    <item>
      <title>{escape(title)}</title>
      <link>https://arxiv.org/abs/{arxiv_id}</link>
      <description>arXiv:{arxiv_id}v1 Announce Type: new
Abstract: {escape(abstract)}</description>
      <guid isPermaLink="false">oai:arXiv.org:{arxiv_id}v1</guid>
      <category>{category}</category>
      <pubDate>{stamp}</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
      <dc:creator>Ada Lovelace, Alan Turing, Grace Hopper {n % 7}</dc:creator>
    </item>"""
        )
    body = "\n".join(items)
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" \
xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" \
version="2.0">
  <channel>
    <title>{category} updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/{category}</link>
    <description>{category} updates on the arXiv.org e-print archive.</description>
    <atom:link href="http://rss.arxiv.org/rss/{category}" rel="self" \
type="application/rss+xml"/>
    <docs>http://www.rssboard.org/rss-specification</docs>
    <language>en-us</language>
    <lastBuildDate>{stamp}</lastBuildDate>
    <managingEditor>rss-help@arxiv.org</managingEditor>
    <pubDate>{stamp}</pubDate>
    <skipDays>
      <day>Saturday</day>
      <day>Sunday</day>
    </skipDays>
{body}
  </channel>
</rss>
""".encode()
