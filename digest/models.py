"""The papers domain: where listings come from, the papers themselves, and deliveries."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse


class SourceKind(models.TextChoices):
    ARXIV_RSS = "arxiv-rss", "arXiv announcement feed (RSS or Atom)"
    ARXIV_API = "arxiv-api", "arXiv API query (Atom)"
    HF_DAILY = "hf-daily", "Hugging Face Daily Papers (JSON, HTML fallback)"


# Beat's ingest task runs hourly; a source is due a little before its interval is up, so
# a run that started a few seconds late never pushes the next one back an hour.
SCHEDULE_SLACK = timedelta(minutes=5)


class SourceQuerySet(models.QuerySet):
    def due(self, now: datetime) -> "SourceQuerySet":
        """Enabled sources whose last pull started at least their interval ago."""
        last_started = (
            FetchRun.objects.filter(source=OuterRef("pk"))
            .order_by("-started_at")
            .values("started_at")[:1]
        )
        next_due = models.ExpressionWrapper(
            models.F("last_started") + models.F("fetch_every"),
            output_field=models.DateTimeField(),
        )
        return (
            self.filter(enabled=True)
            .annotate(last_started=Subquery(last_started))
            .annotate(next_due=next_due)
            .filter(Q(last_started__isnull=True) | Q(next_due__lte=now + SCHEDULE_SLACK))
        )


class Source(models.Model):
    """A listing staff want pulled: one feed URL of one kind, on its own schedule."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    url = models.URLField(max_length=500)
    enabled = models.BooleanField(default=True)
    fetch_every = models.DurationField(
        default=timedelta(hours=3),
        help_text="How often the scheduled ingest pulls this source (e.g. 03:00:00). "
        "arXiv rebuilds its feeds once a day; Daily Papers upvotes change all day.",
    )
    # Conditional GET state, so an unchanged feed costs a 304.
    etag = models.CharField(max_length=255, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SourceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "url"], name="source_unique_kind_url"),
            models.CheckConstraint(
                condition=Q(fetch_every__gte=timedelta(minutes=5)),
                name="source_fetch_every_at_least_5_minutes",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FetchRun(models.Model):
    """One pull of one source: what happened, and how much it changed."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        OK = "ok", "ok"
        NOT_MODIFIED = "not_modified", "not modified"
        FAILED = "failed", "failed"

    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    url = models.URLField(max_length=500)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    new_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["source", "-started_at"], name="fetchrun_source_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {self.url} at {self.started_at:%Y-%m-%d %H:%M}"


class Paper(models.Model):
    """One paper, merged from every source that listed it, keyed by its bare arXiv id."""

    arxiv_id = models.CharField(max_length=40, unique=True)
    version = models.PositiveSmallIntegerField(default=1)
    title = models.TextField(help_text="As the source gave it (may hold LaTeX).")
    title_text = models.TextField(help_text="Readable Unicode form for display.")
    abstract = models.TextField(blank=True)
    abstract_text = models.TextField(blank=True)
    authors = models.JSONField(default=list, help_text="Author names, in order.")
    categories = models.JSONField(default=list, help_text="Primary category first.")
    primary_category = models.CharField(max_length=40, blank=True, db_index=True)
    announce_type = models.CharField(max_length=20, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    # The day the paper entered the pool of new listings; digests draw from recent days.
    announced_on = models.DateField(db_index=True)
    abs_url = models.URLField(max_length=300, blank=True)
    pdf_url = models.URLField(max_length=300, blank=True)
    hf_url = models.URLField(max_length=300, blank=True)
    code_url = models.URLField(max_length=300, blank=True)
    project_url = models.URLField(max_length=300, blank=True)
    # Daily Papers' social card, linked (never copied): https on the listing's own host.
    thumbnail_url = models.URLField(max_length=300, blank=True)
    organization = models.CharField(max_length=200, blank=True)
    upvotes = models.PositiveIntegerField(default=0)
    num_comments = models.PositiveIntegerField(default=0)
    comment = models.TextField(blank=True)
    doi = models.CharField(max_length=200, blank=True)
    journal_ref = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)
    # Staff take a paper out of every future digest by retracting it, never by deleting
    # it: the digests it was sent in and the answers it got stay as they were
    # (digest.ingest.retraction). A later pull of it leaves this alone.
    retracted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When staff retracted it from future digests (empty: offered as usual).",
    )

    class Meta:
        ordering = ["-announced_on", "arxiv_id"]
        indexes = [
            # The admin's list in its default order, without sorting the table per page.
            models.Index(fields=["-announced_on", "arxiv_id"], name="paper_list_order"),
            # The admin's title search: SQLite scans this small index instead of every
            # row with its abstract (6x faster at 200,000 papers; see digest/admin.py).
            models.Index(fields=["title_text"], name="paper_title_search"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(arxiv_id=""), name="paper_arxiv_id_not_empty"),
            models.CheckConstraint(condition=~Q(title=""), name="paper_title_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.arxiv_id}: {self.title_text[:80]}"

    def get_absolute_url(self) -> str:
        return self.abs_url or f"https://arxiv.org/abs/{self.arxiv_id}"


class PaperSighting(models.Model):
    """Where a paper was seen: one row per paper and source kind."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="sightings")
    kind = models.CharField(max_length=20, choices=SourceKind.choices)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL)
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["paper", "kind"], name="sighting_unique_paper_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.paper.arxiv_id} in {self.kind}"


class UpvoteSnapshot(models.Model):
    """Upvotes as one pull saw them, so trending can mean gaining votes, not only having them."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="upvote_history")
    taken_at = models.DateTimeField(auto_now_add=True)
    upvotes = models.PositiveIntegerField()

    class Meta:
        ordering = ["-taken_at"]
        indexes = [
            # The ranking reads each paper's recent history to compute upvote growth.
            models.Index(fields=["paper", "-taken_at"], name="upvote_paper_recent"),
            # The cockpit's fastest-rising papers read the last week's snapshots.
            models.Index(fields=["taken_at"], name="upvote_taken"),
        ]

    def __str__(self) -> str:
        return f"{self.upvotes} upvotes at {self.taken_at:%Y-%m-%d %H:%M}"


class Delivery(models.Model):
    """One subscriber's digest for one date: claimed before sending, marked after."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        EMPTY = "empty", "nothing to send"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled (no longer subscribed)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="deliveries"
    )
    digest_date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the row was last put back in the queue as if new (delivery.planning's
    # `deliveries_requeue`: a resend, a cancelled day planned again); empty: it has
    # waited since it was created. The cockpit's "digests-waiting" counts from here.
    requeued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Which claim owns the row; a worker only marks rows it still owns.
    claim_token = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    message_id = models.CharField(max_length=255, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    papers = models.ManyToManyField(Paper, through="DeliveryItem", related_name="deliveries")

    class Meta:
        ordering = ["-digest_date", "subscriber_id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "digest_date"], name="delivery_one_per_subscriber_and_date"
            ),
        ]
        indexes = [
            # The sender polls for work by status; the lease check filters on claimed_at.
            models.Index(fields=["status", "claimed_at"], name="delivery_status_claim"),
            # The cockpit's digests per day and status, and the admin's date filter.
            models.Index(fields=["digest_date", "status"], name="delivery_day_status"),
            # The admin's list in its default order (newest day first).
            models.Index(fields=["-digest_date", "subscriber"], name="delivery_list_order"),
        ]

    def __str__(self) -> str:
        return f"digest {self.digest_date} for subscriber {self.subscriber_id} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("digest:admin_preview", args=[self.public_id])

    @classmethod
    def reopen_empty_days(cls, subscriber_ids: Iterable[int], now: datetime) -> int:
        """Today's digests that were decided empty (nothing was sent) are planned again by
        the next send tick, with the interests, answers and learner as they now are: someone
        who confirms before choosing topics, or whose first answers come after their hour,
        gets that day's digest. A digest or a note already sent stays the only one of the
        day. Called by subscriptions.services and learners when those change. Returns how
        many were reopened.

        Today is each reader's own (or a later day's row, after a move west): their
        yesterday is over, nothing plans it again, and its row must stay, as the record
        the next digest reaches back to (a weekly one would otherwise skip the papers that
        came after it that day) and as the cockpit counts it."""
        since = now.astimezone(UTC).date() - timedelta(days=1)  # "today" in any time zone
        candidates = cls.objects.filter(
            subscriber_id__in=list(subscriber_ids), status=cls.Status.EMPTY, digest_date__gte=since
        ).select_related("subscriber")
        todays = [
            d.pk for d in candidates if d.digest_date >= now.astimezone(d.subscriber.tz).date()
        ]
        deleted, _ = cls.objects.filter(pk__in=todays).delete()
        return deleted


class DeliveryItem(models.Model):
    """A paper a delivery carried, in rank order, with the reason it was picked."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="items")
    # A sent paper is part of the record of what each subscriber got (and what never to
    # send them again): it is retracted, not deleted.
    paper = models.ForeignKey(Paper, on_delete=models.PROTECT, related_name="delivery_items")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField(default=0.0)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "paper"], name="item_unique_paper"),
            models.UniqueConstraint(fields=["delivery", "rank"], name="item_unique_rank"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.paper.arxiv_id}"
