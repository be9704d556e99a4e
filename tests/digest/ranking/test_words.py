"""Category keys: one rule for papers and subscribers alike."""

from __future__ import annotations

import pytest

from digest.ranking.words import category_keys


@pytest.mark.parametrize(
    ("category", "keys"),
    [
        ("cs.LG", ["cs.lg", "cs.*"]),
        (" CS.lg ", ["cs.lg", "cs.*"]),
        ("cs", ["cs.*"]),
        ("cs.*", ["cs.*"]),
        ("hep-th", ["hep-th.*"]),
        ("", []),
    ],
)
def test_a_category_is_matched_by_itself_and_its_archive(category, keys):
    assert category_keys(category) == keys
