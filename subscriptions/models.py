"""Subscribers and what they care about."""

import uuid
import zoneinfo
from functools import cache

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

PAPER_LIMIT_MAX = 50
# The case-insensitive unique address: the name its IntegrityError carries.
EMAIL_UNIQUE = "subscriber_email_ci_unique"


@cache
def known_time_zones() -> frozenset[str]:
    """The IANA zone names: what a browser reports and zoneinfo can open anywhere."""
    # available_timezones() walks the tzdata folders (about 14 ms); ask once per process.
    # It lists every zone file it finds, among them some no IANA name calls that way:
    # Debian's `localtime` (a link to the server's own zone, whatever that is) and
    # `posixrules`. Every IANA name starts with a capital (Africa/..., UTC, EST5EDT).
    return frozenset(z for z in zoneinfo.available_timezones() if z[:1].isupper())


def validate_time_zone(value: str) -> None:
    if value not in known_time_zones():
        raise ValidationError(f"“{value}” is not a time zone we know (try e.g. Europe/Berlin).")


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "pending confirmation"
        ACTIVE = "active", "active"
        UNSUBSCRIBED = "unsubscribed", "unsubscribed"
        BOUNCED = "bounced", "bounced / suppressed"

    class Frequency(models.TextChoices):
        DAILY = "daily", "daily"
        WEEKLY = "weekly", "weekly"

    class EmptyDay(models.TextChoices):
        NOTHING = "nothing", "send nothing"
        NOTE = "note", "send a short note"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    send_hour = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(0), MaxValueValidator(23)]
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    # Monday is 0, as in Python's date.weekday(); only weekly digests use it.
    weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(6)]
    )
    paper_limit = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(PAPER_LIMIT_MAX)]
    )
    empty_day = models.CharField(max_length=10, choices=EmptyDay.choices, default=EmptyDay.NOTHING)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Permanent delivery failures in a row; enough of them suppress the address.
    failure_count = models.PositiveSmallIntegerField(default=0)
    suppressed_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name=EMAIL_UNIQUE),
            models.CheckConstraint(
                condition=Q(send_hour__gte=0, send_hour__lte=23), name="subscriber_send_hour_range"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="subscriber_weekday_range"
            ),
            models.CheckConstraint(
                condition=Q(paper_limit__gte=1, paper_limit__lte=PAPER_LIMIT_MAX),
                name="subscriber_paper_limit_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "active", "unsubscribed", "bounced"]),
                name="subscriber_status_valid",
            ),
        ]
        indexes = [
            # The scheduler's tick asks for active subscribers by hour.
            models.Index(fields=["status", "send_hour"], name="subscriber_due"),
            # The admin's list (newest first) and the cockpit's sign-ups per day.
            models.Index(fields=["created_at"], name="subscriber_created"),
            # The cockpit's confirmations and unsubscribes per day.
            models.Index(fields=["confirmed_at"], name="subscriber_confirmed"),
            models.Index(fields=["unsubscribed_at"], name="subscriber_unsubscribed"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def has_unsubscribed(self) -> bool:
        """They asked for no more mail, whether or not their address is suppressed too."""
        if self.status == self.Status.BOUNCED:
            return self.unsubscribed_at is not None
        return self.status == self.Status.UNSUBSCRIBED

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


class Interest(models.Model):
    """What one subscriber cares about; every field is optional, together they rank papers."""

    subscriber = models.OneToOneField(Subscriber, on_delete=models.CASCADE, related_name="interest")
    categories = models.JSONField(default=list, blank=True, help_text='e.g. ["cs.CL", "cs.LG"]')
    keywords = models.JSONField(
        default=list,
        blank=True,
        help_text='Terms and phrases; a leading "-" excludes, e.g. ["distillation", "-survey"]',
    )
    authors = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True, max_length=2000)
    # Terms dropped from the reading of the description (digest.ranking.reading): they no
    # longer count in its ranking, whether the description's own words or its expansion.
    dropped_terms = models.JSONField(default=list, blank=True)
    # The description's sentence-encoder vector (digest.ranking.semantic), kept beside it so
    # the daily ranking need not encode every description again; empty without an encoder.
    description_vector = models.BinaryField(blank=True, default=b"", editable=False)
    description_model = models.CharField(max_length=40, blank=True, default="", editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Not a field: the description as last read or saved (None for a new interest).
    description_as_saved: str | None = None

    def __str__(self) -> str:
        return f"interests of {self.subscriber}"

    @classmethod
    def from_db(cls, db, field_names, values):
        interest = super().from_db(db, field_names, values)
        # The description as stored, so that subscriptions.services.interest_save encodes
        # it again only when it changed.
        interest.description_as_saved = interest.__dict__.get("description")
        return interest

    @property
    def is_empty(self) -> bool:
        return not (self.categories or self.keywords or self.authors or self.description.strip())


class Feedback(models.Model):
    """A subscriber's "more like this" or "fewer like this" on one paper."""

    class Signal(models.IntegerChoices):
        MORE = 1, "more like this"
        FEWER = -1, "fewer like this"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="feedback")
    # An answered paper is never deleted (staff retract it from digests instead): the
    # answer trains the subscriber's learner and keeps the paper from being sent again.
    paper = models.ForeignKey("digest.Paper", on_delete=models.PROTECT, related_name="feedback")
    signal = models.SmallIntegerField(choices=Signal.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "feedback"
        # The admin's list (newest first) and the cockpit's feedback per day and signal
        # (read from the index alone).
        indexes = [models.Index(fields=["created_at", "signal"], name="feedback_created")]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "paper"], name="feedback_one_per_paper"),
            models.CheckConstraint(condition=Q(signal__in=[1, -1]), name="feedback_signal_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber} {self.get_signal_display()} {self.paper.arxiv_id}"


class Learner(models.Model):
    """A subscriber's own ranking model, fitted on their answers (digest.ranking.learner).

    Refitted only when the answers or the interests' text change (`signature`), by a
    debounced task on the send queue; the day's ranking reads the weights as they are.
    """

    subscriber = models.OneToOneField(Subscriber, on_delete=models.CASCADE, related_name="learner")
    # DIMENSIONS + 1 little-endian float16: the direction in the encoder's space, then the bias.
    weights = models.BinaryField(default=b"", editable=False)
    # The encoder and the paper text it was fitted on; another one makes the weights unusable.
    model = models.CharField(max_length=80, editable=False)
    # A hash of the answers and the interests' text it was fitted on.
    signature = models.CharField(max_length=64, editable=False)
    liked = models.PositiveIntegerField(default=0)
    disliked = models.PositiveIntegerField(default=0)
    fitted_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"learner of {self.subscriber} ({self.liked} yes, {self.disliked} no)"


class RefitRequest(models.Model):
    """A subscriber whose learner waits for a refit: their answers or interests changed.

    Written in the same transaction as the change, so a refit is never lost to a broker
    that is down; one debounced task refits every waiting subscriber in batches, and the
    beat's sweep picks up any left behind. Removed by the refit that saw this
    `requested_at`: a change made while the refit ran keeps its row.
    """

    subscriber = models.OneToOneField(
        Subscriber, on_delete=models.CASCADE, primary_key=True, related_name="refit_request"
    )
    requested_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"refit of {self.subscriber} requested at {self.requested_at:%Y-%m-%d %H:%M:%S}"
