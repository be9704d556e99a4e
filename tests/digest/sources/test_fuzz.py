"""Mangled listings: every parser ends with clean PaperRecords or IngestError, nothing else."""

import contextlib
import json
import tracemalloc
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.sources.arxiv_api import ArxivApiAdapter
from digest.sources.arxiv_rss import ArxivRssAdapter
from digest.sources.base import IngestError, PaperRecord
from digest.sources.hf_daily import HfDailyAdapter
from digest.sources.records import clean_record
from digest.sources.text import readable
from tests.helpers.feeds import API_PAGE, ATOM_FEED, HF_JSON, HF_PAGE, RSS_FEED, feed_bytes

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The first three entries of the real Atom capture keep each example fast.
ATOM_HEAD = feed_bytes(ATOM_FEED).split(b"<entry>")
ATOM_SMALL = b"<entry>".join(ATOM_HEAD[:4]) + b"</feed>"
FEED_TOKENS = [
    b"<entry>",
    b"</entry>",
    b"<item>",
    b"</item>",
    b"<title>",
    b"</title>",
    b"<summary>",
    b"<id>",
    b"oai:arXiv.org:",
    b"v999999999999",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"&bogus;",
    b"<![CDATA[",
    b"]]>",
    b"$",
    b"\\",
    b"{",
    b"}",
    b"\x00",
    b"\xff\xfe",
    b"<published>",
    b"9999-99-99T99:99:99Z",
    b"<arxiv:announce_type>replace",
    b"<category term=''/>",
    b"<dc:creator>,,, and (((",
    b"</feed>",
    b"</rss>",
]


def check(adapter, raw: bytes) -> None:
    try:
        records = adapter.parse(raw)
    except IngestError:
        return
    assert isinstance(records, list)
    for record in records:
        assert isinstance(record, PaperRecord)
        assert isinstance(record.title, str) and isinstance(record.abstract, str)
        assert all(isinstance(name, str) for name in record.authors)
        for stamp in (record.published_at, record.updated_at):
            assert stamp is None or stamp.utcoffset() == timedelta(0)
        # What the upsert would store, or a clean refusal.
        with contextlib.suppress(IngestError):
            clean_record(record, None)


@st.composite
def mangled(draw, base: bytes, tokens: list[bytes]) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "truncate"]))
        if action == "insert":
            data[position:position] = draw(st.sampled_from(tokens) | st.binary(max_size=20))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 400))]
        elif action == "flip" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif action == "truncate":
            del data[position:]
    return bytes(data)


@FUZZ
@given(mangled(ATOM_SMALL, FEED_TOKENS))
def test_mangled_atom_feeds(raw):
    check(ArxivRssAdapter(), raw)


@FUZZ
@given(mangled(feed_bytes(RSS_FEED), FEED_TOKENS))
def test_mangled_rss_feeds(raw):
    check(ArxivRssAdapter(), raw)


@FUZZ
@given(mangled(feed_bytes(API_PAGE), FEED_TOKENS))
def test_mangled_api_pages(raw):
    check(ArxivApiAdapter(), raw)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_at_every_parser(raw):
    for adapter in (ArxivRssAdapter(), ArxivApiAdapter(), HfDailyAdapter()):
        check(adapter, raw)


JSON_TOKENS = [
    b"[",
    b"]",
    b"{",
    b"}",
    b'"',
    b",",
    b":",
    b"null",
    b"true",
    b"-1",
    b"1e999",
    b'"paper"',
    b'"id"',
    b'"upvotes"',
    b"\\u0000",
    b"\\ud800",
    b"NaN",
]


@FUZZ
@given(mangled(feed_bytes(HF_JSON), JSON_TOKENS))
def test_mangled_daily_papers_json(raw):
    check(HfDailyAdapter(), raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "title",
                    "summary",
                    "upvotes",
                    "authors",
                    "name",
                    "publishedAt",
                    "paper",
                    "organization",
                    "githubRepo",
                    "numComments",
                    "fullname",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@FUZZ
@given(
    st.lists(
        st.fixed_dictionaries(
            {"paper": json_values},
            optional={
                "publishedAt": json_values,
                "numComments": json_values,
                "organization": json_values,
            },
        ),
        max_size=5,
    )
    | json_values
)
def test_drifted_daily_papers_schemas(value):
    check(HfDailyAdapter(), json.dumps(value).encode())


@FUZZ
@given(
    mangled(
        feed_bytes(HF_PAGE),
        [
            b"<",
            b">",
            b'"',
            b"&quot;",
            b"data-props=",
            b"SVELTE_HYDRATER",
            b"<!--",
            b"<script>",
            b"&#x26;",
        ],
    )
)
def test_mangled_daily_papers_pages(raw):
    check(HfDailyAdapter(), raw)


@FUZZ
@given(st.text(max_size=300))
def test_readable_text_never_fails(text):
    assert isinstance(readable(text), str)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>oai:arXiv.org:2508.13167v1</id>
<title>&lol9;</title><summary>&lol9;</summary></entry></feed>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>oai:arXiv.org:2508.13167v1</id>
<title>&xxe;</title></entry></feed>
"""


# Expanding &lol9; takes gigabytes; refusing the page takes a few kilobytes beyond its size.
# Memory, not time, shows that nothing was expanded (time depends on the machine's load).
EXPANSION_WOULD_TAKE = 16 * 1024 * 1024


@contextlib.contextmanager
def peak_memory():
    """The peak of Python allocations inside the block, as a function to call after it."""
    tracemalloc.start()
    peak = 0
    try:
        yield lambda: peak
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


@pytest.mark.parametrize(
    "raw",
    [
        BILLION_LAUGHS,
        BILLION_LAUGHS.replace(b"<?xml", b"  \n<?xml"),
        BILLION_LAUGHS.decode().encode("utf-16"),
        BILLION_LAUGHS.replace(b"DOCTYPE", b"doctype"),
        EXTERNAL_ENTITY,
    ],
    ids=["billion-laughs", "leading-space", "utf-16", "lowercase", "external-entity"],
)
@pytest.mark.parametrize("adapter", [ArxivRssAdapter(), ArxivApiAdapter()], ids=["rss", "api"])
def test_entity_declarations_are_refused_quickly_without_expansion(adapter, raw):
    with peak_memory() as peak, pytest.raises(IngestError, match="DTD or entities") as caught:
        adapter.parse(raw)
    assert caught.value.permanent
    assert peak() < EXPANSION_WOULD_TAKE  # nothing was expanded


def test_a_billion_laughs_page_gives_no_expanded_text_to_the_html_fallback():
    with peak_memory() as peak:
        try:
            records = HfDailyAdapter().parse(BILLION_LAUGHS)
        except IngestError:
            records = []
    assert records == []
    assert peak() < EXPANSION_WOULD_TAKE
