"""A card rendered once with slot markers, then filled per message (digest/mail/templates.py):
only the template's own slots are filled, whatever the text around them holds."""

import pytest

from digest.mail.templates import Fragment, slot

FEEDBACK = "https://paperboy.example.org/feedback/alices-token/"


def card(title: str) -> Fragment:
    """As the digest renders a card: the paper's text as is, the subscriber's parts as slots."""
    return Fragment(f"{slot('rank')}. {title}\n   Fewer like this: {slot('fewer_url')}\n")


@pytest.mark.parametrize(
    ("title", "shown"),
    [
        ("Something \ue000x\ue001", "Something x"),  # no such slot
        ("Something \ue000fewer_url\ue001", "Something fewer_url"),  # the card's own slot
        ("Half \ue000 a marker \ue001", "Half  a marker "),
    ],
)
def test_marker_characters_in_a_title_fill_nothing_and_are_dropped(title, shown):
    filled = card(title).fill({"rank": "1", "fewer_url": FEEDBACK})

    assert filled == f"1. {shown}\n   Fewer like this: {FEEDBACK}\n"
    assert filled.count(FEEDBACK) == 1


def test_a_value_put_into_a_slot_is_not_read_again_for_markers():
    fragment = Fragment(f"{slot('reason')} | {slot('fewer_url')}")

    filled = fragment.fill({"reason": slot("fewer_url"), "fewer_url": FEEDBACK})

    assert filled == f"{slot('fewer_url')} | {FEEDBACK}"
