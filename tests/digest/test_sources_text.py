"""The display text of titles and abstracts (digest/text.py), on real snippets."""

import pytest

from digest.sources.feeds import split_authors
from digest.text import clean_whitespace, latex_to_text, readable


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
