"""Keywords typed in one box become a list and come back as the same text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subscriptions import categories
from subscriptions.interests import (
    format_authors,
    format_keywords,
    parse_authors,
    parse_keywords,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("diffusion", ["diffusion"]),
        ('diffusion "protein folding" -survey', ["diffusion", "protein folding", "-survey"]),
        ('-"position paper", rlhf', ["-position paper", "rlhf"]),
        ("state-of-the-art", ["state-of-the-art"]),
        ("a, b,,c", ["a", "b", "c"]),
        ('"unclosed phrase', ["unclosed phrase"]),
        ("- -- \"\" ' '", ["'"]),
        ("GAN gan Gan", ["GAN"]),
        ('"  spaced    out  "', ["spaced out"]),
    ],
)
def test_parse_keywords(text, expected):
    assert parse_keywords(text) == expected


def test_format_keywords_quotes_phrases_and_keeps_the_minus():
    assert format_keywords(["diffusion", "protein folding", "-survey", "-position paper"]) == (
        'diffusion "protein folding" -survey -"position paper"'
    )


@given(st.text(alphabet=st.sampled_from('ab -",\n\t'), max_size=30) | st.text(max_size=40))
def test_parsing_what_format_wrote_gives_the_same_list(text):
    keywords = parse_keywords(text)
    assert parse_keywords(format_keywords(keywords)) == keywords


@given(st.lists(st.text(max_size=12), max_size=6))
def test_any_stored_list_round_trips_after_one_normalisation(items):
    once = parse_keywords(format_keywords(items))
    assert parse_keywords(format_keywords(once)) == once


def test_authors_one_per_line_or_comma_separated():
    assert parse_authors("Ada Lovelace\n Alan Turing, Grace Hopper;ada lovelace\n\n") == [
        "Ada Lovelace",
        "Alan Turing",
        "Grace Hopper",
    ]
    assert parse_authors(format_authors(["A. B", "C D"])) == ["A. B", "C D"]


def test_the_taxonomy_has_the_main_groups_with_human_names():
    codes = {g.code for g in categories.GROUPS}
    assert {"cs", "stat", "math", "eess", "physics", "q-bio", "q-fin", "econ"} <= codes
    assert categories.NAMES["cs.CL"] == "Computation and Language"
    assert categories.NAMES["astro-ph.CO"].startswith("Cosmology")
    assert all(categories.is_known(c) for c in categories.POPULAR)
    assert len(categories.NAMES) == len(categories.choices()) > 100
