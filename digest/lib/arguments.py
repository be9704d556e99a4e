"""Argument types the management commands share: a bad number is one clear line from
argparse (a CommandError under call_command), before anything runs."""

from __future__ import annotations

from argparse import ArgumentTypeError
from collections.abc import Callable


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """A type for `add_argument` that takes a whole number from `low` to `high`."""

    def parse(value: str) -> int:
        number = int(value) if value.lstrip("-").isdigit() else None
        if number is None or not low <= number <= high:
            raise ArgumentTypeError(f"not a whole number from {low} to {high}: {value!r}")
        return number

    return parse
