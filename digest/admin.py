"""The staff console: papers, sources and their runs, deliveries."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from .models import (
    Delivery,
    DeliveryItem,
    FetchRun,
    Paper,
    PaperSighting,
    Source,
    SourceKind,
    UpvoteSnapshot,
)
from .selectors import paper_problem
from .sources.arxiv_rss import feed_url
from .sources.base import IngestError


class SightingInline(admin.TabularInline):
    model = PaperSighting
    extra = 0
    readonly_fields = ("kind", "source", "first_seen_at")
    can_delete = False


class UpvoteInline(admin.TabularInline):
    model = UpvoteSnapshot
    extra = 0
    readonly_fields = ("taken_at", "upvotes")
    can_delete = False
    max_num = 0


class PaperForm(forms.ModelForm):
    class Meta:
        model = Paper
        fields = "__all__"  # noqa: DJ007 - staff may correct any field of a paper

    def clean(self):
        cleaned = super().clean()
        problem = paper_problem(cleaned.get("authors"), cleaned.get("categories"))
        if problem:
            raise forms.ValidationError(problem)
        return cleaned


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    form = PaperForm
    list_display = (
        "arxiv_id",
        "title_text",
        "primary_category",
        "announced_on",
        "upvotes",
        "problem",
    )
    list_filter = ("announced_on", "primary_category", "announce_type", "sightings__kind")
    search_fields = ("arxiv_id", "title", "title_text", "authors", "organization")
    date_hierarchy = "announced_on"
    readonly_fields = ("problem", "first_seen_at", "last_seen_at")
    inlines = [SightingInline, UpvoteInline]
    list_per_page = 50

    @admin.display(description="problem (left out of digests)")
    def problem(self, paper):
        return paper_problem(paper.authors, paper.categories) or "-"


class SourceForm(forms.ModelForm):
    """Staff give an arXiv feed as its URL or simply as its categories (`cs.LG stat.ML`)."""

    categories = forms.CharField(
        required=False,
        help_text="For an arXiv announcement feed: one or more categories, e.g. "
        "'cs.LG stat.ML'. Fills in the URL; leave the URL empty.",
    )

    class Meta:
        model = Source
        fields = ("name", "kind", "categories", "url", "enabled", "fetch_every")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["url"].required = False
        self.fields["url"].assume_scheme = "https"

    def clean(self):
        data = super().clean()
        categories = data.get("categories", "").replace(",", " ").split()
        if categories:
            if data.get("kind") != SourceKind.ARXIV_RSS:
                self.add_error("categories", "Categories only make sense for an arXiv feed.")
            else:
                try:
                    data["url"] = feed_url(categories)
                except IngestError as error:
                    self.add_error("categories", str(error))
        elif not data.get("url"):
            self.add_error("url", "Give the feed's URL (or, for arXiv, its categories).")
        return data  # the built URL reaches the instance with the other cleaned fields


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = ("name", "kind", "url", "enabled", "fetch_every", "last_run")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "url")
    list_editable = ("enabled", "fetch_every")
    readonly_fields = ("etag", "last_modified", "created_at")
    actions = ["run_now"]

    @admin.display(description="last run")
    def last_run(self, source):
        run = source.runs.order_by("-started_at").first()
        if run is None:
            return "never"
        return f"{run.get_status_display()} · {run.started_at:%Y-%m-%d %H:%M} · +{run.new_count}"

    @admin.action(description="Run the selected sources now")
    def run_now(self, request, queryset):
        # Queued, not run in the request: an arXiv backfill at one request every three
        # seconds outlasts any web timeout. Each run shows up under Fetch runs.
        from . import tasks  # the tasks load the ranking (scipy): not in every process

        names = []
        for source in queryset:
            tasks.ingest_source.delay(source.pk)
            names.append(source.name)
        self.message_user(
            request,
            f"Queued {len(names)} source(s) to run now: {', '.join(names)}. "
            "Their results appear under Fetch runs.",
            messages.SUCCESS,
        )


@admin.register(FetchRun)
class FetchRunAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "source",
        "kind",
        "status",
        "http_status",
        "new_count",
        "updated_count",
        "skipped_count",
        "short_error",
    )
    list_filter = ("status", "kind", "source")
    search_fields = ("url", "error")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in FetchRun._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="error")
    def short_error(self, run):
        return run.error[:80]


class DeliveryItemInline(admin.TabularInline):
    model = DeliveryItem
    extra = 0
    fields = ("rank", "paper", "score", "reason")
    readonly_fields = fields
    can_delete = False
    max_num = 0


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "digest_date",
        "subscriber",
        "status",
        "paper_count",
        "attempts",
        "sent_at",
        "preview",
    )
    list_filter = ("status", "digest_date")
    search_fields = ("subscriber__email", "message_id")
    date_hierarchy = "digest_date"
    list_select_related = ("subscriber",)
    readonly_fields = (
        "public_id",
        "subscriber",
        "digest_date",
        "created_at",
        "claimed_at",
        "claim_token",
        "sent_at",
        "attempts",
        "message_id",
        "subject",
        "error",
    )
    inlines = [DeliveryItemInline]
    actions = ["resend"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_papers=Count("items"))

    @admin.display(description="papers", ordering="_papers")
    def paper_count(self, delivery):
        return delivery._papers

    @admin.display(description="email")
    def preview(self, delivery):
        url = reverse("digest:admin_preview", args=[delivery.public_id])
        return format_html('<a href="{}" target="_blank" rel="noopener">view</a>', url)

    @admin.action(description="Resend the selected deliveries (same papers) on the next tick")
    def resend(self, request, queryset):
        count = queryset.exclude(status=Delivery.Status.SENDING).update(
            status=Delivery.Status.PENDING,
            claim_token="",
            claimed_at=None,
            error="",
            attempts=0,
        )
        self.message_user(request, f"{count} deliveries queued to be sent again.")
