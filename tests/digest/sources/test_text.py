"""The display text of titles and abstracts (digest/sources/text.py), on real snippets."""

import gc
import re
import weakref
from pathlib import Path

import pytest

from digest.sources.feedparsing import split_authors
from digest.sources.text import (
    _CONTROL,
    clean_whitespace,
    latex_to_text,
    readable,
    source_text,
    strip_controls,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("M$^3$ViT", "M^3ViT"),
        (
            r"achieving 10.7% higher accuracy and $1.13\times$ faster training",
            "achieving 10.7% higher accuracy and 1.13× faster training",
        ),
        (
            r"covers $\alpha$-masses in any dimension $N\geq 2$",
            "covers α-masses in any dimension N≥ 2",
        ),
        (r"Journal de l'\'Ecole polytechnique", "Journal de l'École polytechnique"),
        (r"{\'E}cole and {BERT}", "École and BERT"),
        ("Q&amp;A over tables &lt;3", "Q&A over tables <3"),
        (
            "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for\n  Contrastive Loss",
            "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss",
        ),
        ("Cafe\u0301\u200b au lait\x0b", "Café au lait"),
        ("an unbalanced { brace and a lone $ sign", "an unbalanced { brace and a lone $ sign"),
    ],
)
def test_readable_renders_latex_entities_and_whitespace(source, shown):
    assert readable(source) == shown


def test_plain_prose_passes_latex_to_text_untouched():
    text = "We reach ~90% of the baseline & beat it on 3/4 tasks."
    assert latex_to_text(text) == text


def test_clean_whitespace_collapses_hard_wraps_and_indents():
    assert clean_whitespace("  Data science is\ngaining   more\tattention  ") == (
        "Data science is gaining more attention"
    )


def test_authors_split_on_commas_and_and_outside_parentheses():
    assert split_authors("A. One (MIT, CMU), B. Two and C. Thr\\'ee") == [
        "A. One",
        "B. Two",
        "C. Thrée",
    ]
    assert split_authors("") == []
    assert split_authors(None) == []


_SEPARATOR = re.compile(r",|\band\b|;")
_GROUPED = re.compile(r"\([^()]*\)")


def _split_authors_by_regex(text):
    """split_authors as it was before its fast paths: the reference they must match."""
    previous = None
    while previous != text:
        previous, text = text, _GROUPED.sub("", text)
    return [name.strip() for name in _SEPARATOR.split(readable(text)) if name.strip()]


@pytest.mark.parametrize(
    "authors",
    [
        "Weizhen Li, Jianbo Lin, Zhuosong Jiang",
        "Sandra Anderson, Alexander Brand",  # "and" inside names, no separator
        "A. One and B. Two; C. Three",
        "A. One (MIT (CSAIL), CMU), B. Two (unbalanced",
        "Andr\\'e Sand, Ferdinand",
        " , ,Lone, ",
        "and, and and ,AND",
    ],
)
def test_split_authors_fast_paths_match_the_regex_split(authors):
    assert split_authors(authors) == _split_authors_by_regex(authors)


def test_split_authors_matches_the_regex_split_on_every_real_author_list():
    feed = (FIXTURES / "arxiv-rss-atom-flavour_cs.AI_2025-08-20_full87.xml").read_text()
    lists = re.findall(r"<dc:creator>(.*?)</dc:creator>", feed, re.S)
    assert len(lists) > 80
    for authors in lists:
        assert split_authors(authors) == _split_authors_by_regex(authors)


def test_latex_conversion_does_not_keep_its_callers_data_alive():
    """pylatexenc leaves a reference cycle per conversion; it must not hold our frames.

    Called directly, its frames kept every calling frame's variables (the parsed feed,
    the downloaded body) until the next full garbage collection.
    """

    class Payload:
        pass

    def caller(text):
        payload = Payload()
        readable(text)
        return weakref.ref(payload)

    enabled = gc.isenabled()
    gc.disable()
    try:
        fresh = f"{id(object())}"  # Not in the conversion cache yet.
        ref = caller(r"a span $\beta_{" + fresh + "}$ no other test converts")
        assert ref() is None
    finally:
        if enabled:
            gc.enable()


def test_strip_controls_drops_exactly_the_control_pattern_on_ascii_and_beyond():
    every_ascii = "".join(map(chr, range(128)))
    assert strip_controls(every_ascii) == _CONTROL.sub("", every_ascii)
    assert strip_controls("tab\there\nnew\rline") == "tab\there\nnew\rline"
    assert strip_controls("nul\x00 vt\x0b del\x7f") == "nul vt del"
    mixed = "Cafe\u0301\u200b au lait\x0b\x85\ufeff"
    assert strip_controls(mixed) == _CONTROL.sub("", mixed) == "Cafe\u0301 au lait"
    plain = "A plain abstract, unchanged."
    assert strip_controls(plain) is plain


@pytest.mark.parametrize(
    "odd",
    [
        "\ue000",  # the card templates' slot markers: private use, start and end of the BMP's
        "\ue001",
        "\uf8ff",
        "\U000f0000",  # planes 15 and 16, private use too
        "\U0010fffd",
        "\ufdd0",  # non-characters
        "\ufdef",
        "\ufffe",
        "\uffff",
        "\U0001fffe",
        "\U0010ffff",
    ],
)
def test_private_use_and_non_characters_are_dropped_from_stored_text(odd):
    assert readable(f"Something {odd}x{odd} else") == "Something x else"
    assert source_text(f" Something {odd}x{odd} else ") == "Something x else"
    assert strip_controls(f"{odd}fewer_url{odd}") == "fewer_url"


def test_text_next_to_the_private_use_area_is_kept():
    kept = "\ud7ff\uf900\ufdcf\ufdf0\ufffd\U0001f600\U000e0100"  # neighbours, not in it
    assert strip_controls(kept) == kept
