"""The day arXiv lists a new submission, from the moment it was submitted.

The announcement feeds date each paper by its listing (the feed of Wednesday 00:00
US/Eastern carries Tuesday 20:00's announcement), and digests draw papers by that day
(`digest.selectors.digest_since`). The API knows only when version 1 was submitted, one
to three days earlier: a backfill that fills a day the feeds missed must not stamp its
papers with the submission day, or they fall before the readers' next digest and are
never sent. arXiv's published schedule (help/availability): submissions received by
14:00 US/Eastern on a weekday are announced at 20:00 that day (Friday's on Sunday), and
listed the next weekday.

Deferred mailings (holidays) and moderation holds list a paper later than this; the day
computed here is then early, as the submission day was, by less.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ARXIV_TIME = ZoneInfo("America/New_York")
DEADLINE = time(14, 0)
_FRIDAY = 4


def listing_day(submitted: datetime) -> date:
    """The feed day that lists a submission made at `submitted` (aware), on arXiv's
    regular schedule."""
    local = submitted.astimezone(ARXIV_TIME)
    deadline_day = local.date() if local.time() < DEADLINE else local.date() + timedelta(days=1)
    while deadline_day.weekday() > _FRIDAY:  # received at a weekend: Monday's deadline
        deadline_day += timedelta(days=1)
    listed = deadline_day + timedelta(days=1)
    while listed.weekday() > _FRIDAY:  # Friday's deadline: announced Sunday, listed Monday
        listed += timedelta(days=1)
    return listed
