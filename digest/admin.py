"""The staff console: papers, sources and their runs, deliveries.

Every list reads a bounded number of queries at any size: related rows are joined
(list_select_related) or fetched per page, counts of whole big tables are estimated on
PostgreSQL (EstimatedCountPaginator, show_full_result_count off), and dates are filtered
by preset ranges instead of a date hierarchy that reads every distinct day.
"""

import re
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import ShowFacets
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal

from subscriptions import categories

from .cockpit.adminkit import (
    CategoryPickerField,
    EstimatedCountPaginator,
    OnePerLineField,
    action_log,
    badge,
    badges,
    confirmed,
)
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
from .tasks import ingest_source

# 2501.01234, 2501.01234v2, or an old-style id (hep-th/9901001).
ARXIV_ID_TERM = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$", re.IGNORECASE)

admin.site.site_header = f"{settings.SITE_NAME} staff"
admin.site.site_title = settings.SITE_NAME
admin.site.index_title = "Operations"
# The lists need the width more than a second menu; Home is one click away.
admin.site.enable_nav_sidebar = False


class SightingInline(admin.TabularInline):
    model = PaperSighting
    extra = 0
    readonly_fields = ("kind", "source", "first_seen_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # the ingestion records where a paper was seen


class UpvoteInline(admin.TabularInline):
    model = UpvoteSnapshot
    extra = 0
    readonly_fields = ("taken_at", "upvotes")
    can_delete = False
    max_num = 0


class PaperForm(forms.ModelForm):
    authors = OnePerLineField(help_text="One author per line, in order.", max_items=3000)
    categories = CategoryPickerField(
        choices=categories.choices, help_text="The primary category is kept first."
    )

    class Meta:
        model = Paper
        fields = ("authors", "categories")  # the admin adds the fieldsets' others
        labels = {"arxiv_id": "arXiv id", "title_text": "Title (readable)"}
        widgets = {
            "title": forms.Textarea(attrs={"rows": 2, "cols": 90}),
            "title_text": forms.Textarea(attrs={"rows": 2, "cols": 90}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["categories"].keep_unknown(self.instance.categories or [])

    def clean_categories(self) -> list[str]:
        chosen = self.cleaned_data["categories"]
        primary = self.cleaned_data.get("primary_category") or self.instance.primary_category
        return sorted(chosen, key=lambda code: code != primary)


class AnnounceTypeFilter(admin.SimpleListFilter):
    """The arXiv announce types, listed without a SELECT DISTINCT over every paper."""

    title = "announce type"
    parameter_name = "announce_type"

    def lookups(self, request, model_admin):
        return [
            ("new", "new"),
            ("cross", "cross-list"),
            ("replace", "replaced (new version)"),
            ("replace-cross", "replaced cross-list"),
            ("none", "none given (API, Daily Papers)"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(announce_type="" if value == "none" else value)


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    form = PaperForm
    list_display = (
        "title_cell",
        "arxiv_link",
        "categories_badges",
        "upvotes_badge",
        "announced",
    )
    list_display_links = ("title_cell",)
    list_filter = (
        ("announced_on", admin.DateFieldListFilter),
        AnnounceTypeFilter,
        "sightings__kind",
    )
    search_fields = ("=arxiv_id", "title_text")
    search_help_text = "An exact arXiv id (2501.01234) or words of the title."
    readonly_fields = ("first_seen_at", "last_seen_at")
    inlines = [SightingInline, UpvoteInline]
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = ShowFacets.NEVER  # a count per filter choice reads the whole table
    fieldsets = (
        (None, {"fields": ("arxiv_id", "version", "title", "title_text", "authors")}),
        ("Topics", {"fields": ("primary_category", "categories", "announce_type")}),
        (
            "Dates",
            {
                "fields": ("announced_on", "published_at", "updated_at"),
                "description": (
                    "Announced is the day the paper entered Paperboy's pool of new papers "
                    "(what digests draw from). Published is the first version's submission "
                    "date on arXiv and Updated its latest version's: an old paper announced "
                    "today is a new version, a cross-list, or a paper first seen on Hugging "
                    "Face Daily Papers long after arXiv published it."
                ),
            },
        ),
        ("Abstract", {"fields": ("abstract", "abstract_text"), "classes": ("collapse",)}),
        (
            "Links and community",
            {
                "fields": (
                    ("abs_url", "pdf_url"),
                    ("hf_url", "code_url", "project_url"),
                    ("upvotes", "num_comments", "organization"),
                )
            },
        ),
        (
            "Journal",
            {"fields": ("comment", "doi", "journal_ref"), "classes": ("collapse",)},
        ),
        ("Record", {"fields": ("first_seen_at", "last_seen_at")}),
    )

    def get_search_results(self, request, queryset, search_term):
        """An arXiv id is looked up in its unique index; words are matched in titles
        through an id subquery, which SQLite answers from the small title index rather
        than by reading every paper with its abstract."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if ARXIV_ID_TERM.match(term):
            return queryset.filter(arxiv_id=re.sub(r"v\d+$", "", term)), False
        for word in smart_split(term):
            if word[0] in "\"'" and word[0] == word[-1]:
                word = unescape_string_literal(word)
            titled = Paper.objects.filter(title_text__icontains=word).values("pk")
            queryset = queryset.filter(pk__in=titled)
        return queryset, False

    @admin.display(description="title", ordering="title_text")
    def title_cell(self, paper: Paper) -> str:
        return paper.title_text

    @admin.display(description="arXiv", ordering="arxiv_id")
    def arxiv_link(self, paper: Paper) -> str:
        return format_html(
            '<a href="https://arxiv.org/abs/{}" rel="noopener" target="_blank">{}</a>',
            paper.arxiv_id,
            paper.arxiv_id,
        )

    @admin.display(description="categories")
    def categories_badges(self, paper: Paper) -> str:
        shown, more = paper.categories[:2], len(paper.categories) - 2
        extra = format_html(' <span class="muted">+{}</span>', more) if more > 0 else ""
        return format_html("{}{}", badges(shown, "cat"), extra)

    @admin.display(description="announced", ordering="announced_on")
    def announced(self, paper: Paper) -> str:
        return paper.announced_on.isoformat()

    @admin.display(description="upvotes", ordering="upvotes")
    def upvotes_badge(self, paper: Paper) -> str:
        return badge(f"▲ {paper.upvotes}", "up") if paper.upvotes else ""


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
        from .sources.arxiv_rss import feed_url  # the layout change moves sources; keep lazy
        from .sources.base import IngestError

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


def _every(interval: timedelta) -> str:
    hours, rest = divmod(int(interval.total_seconds()), 3600)
    minutes = rest // 60
    if hours and minutes:
        return f"every {hours} h {minutes} min"
    return f"every {hours} h" if hours else f"every {minutes} min"


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = ("name", "kind_code", "enabled", "schedule", "last_run")
    list_filter = ("kind", "enabled")
    search_fields = ("name", "url")
    list_editable = ("enabled",)
    readonly_fields = ("etag", "last_modified", "created_at")
    actions = ["run_now"]

    def get_queryset(self, request):
        last = FetchRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
        return (
            super()
            .get_queryset(request)
            .annotate(
                _last_status=Subquery(last.values("status")[:1]),
                _last_started=Subquery(last.values("started_at")[:1]),
                _last_new=Subquery(last.values("new_count")[:1]),
            )
        )

    @admin.display(description="kind", ordering="kind")
    def kind_code(self, source: Source) -> str:
        return format_html('<span title="{}">{}</span>', source.get_kind_display(), source.kind)

    @admin.display(description="fetched", ordering="fetch_every")
    def schedule(self, source: Source) -> str:
        return _every(source.fetch_every)

    @admin.display(description="last run", ordering="_last_started")
    def last_run(self, source: Source) -> str:
        if source._last_status is None:
            return badge("never", "never")
        return format_html(
            '{} <span class="muted">{} · +{} new</span>',
            badge(FetchRun.Status(source._last_status).label, source._last_status),
            f"{source._last_started:%d %b %H:%M}",
            source._last_new,
        )

    @admin.action(description="Re-fetch the selected sources now", permissions=["change"])
    def run_now(self, request, queryset):
        page = confirmed(
            self,
            request,
            queryset,
            question="Re-fetch these sources now?",
            consequence="Each source is queued for a pull at once, outside its schedule; "
            "arXiv's one-request-every-3-seconds rule still holds. The results appear "
            "under Fetch runs.",
        )
        if page is not None:
            return page
        # Queued, not run in the request: an arXiv backfill at one request every three
        # seconds outlasts any web timeout.
        sources = list(queryset)
        for source in sources:
            ingest_source.delay(source.pk)
        action_log(self, request, sources, "queued a fetch now (admin action)")
        self.message_user(
            request,
            f"Queued {len(sources)} source(s) to run now: "
            f"{', '.join(s.name for s in sources)}. Their results appear under Fetch runs.",
            messages.SUCCESS,
        )


@admin.register(FetchRun)
class FetchRunAdmin(admin.ModelAdmin):
    """What each pull did: a record, so nobody adds or edits one."""

    list_display = (
        "started_at",
        "source",
        "kind",
        "status_badge",
        "http_status",
        "new_count",
        "updated_count",
        "skipped_count",
        "short_error",
    )
    list_filter = ("status", "kind", "source", ("started_at", admin.DateFieldListFilter))
    search_fields = ("url", "error")
    list_select_related = ("source",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = ShowFacets.NEVER  # a count per filter choice reads the whole table
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: FetchRun) -> str:
        return badge(run.get_status_display(), run.status)

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

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("paper")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """One row per digest: written by the sender only, so read-only here; resending is
    an action (it puts the row back in the queue with the same papers)."""

    list_display = (
        "digest_date",
        "subscriber",
        "status_badge",
        "paper_count",
        "attempts",
        "sent_at",
        "preview",
    )
    list_filter = ("status", ("digest_date", admin.DateFieldListFilter))
    search_fields = ("subscriber__email", "=message_id")
    list_select_related = ("subscriber",)
    raw_id_fields = ("subscriber",)
    inlines = [DeliveryItemInline]
    actions = ["resend"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = ShowFacets.NEVER  # a count per filter choice reads the whole table
    list_per_page = 50

    def get_queryset(self, request):
        # A correlated count, computed for the page's rows only (a JOIN + GROUP BY would
        # read every delivery item of the table before the page is cut).
        items = (
            DeliveryItem.objects.filter(delivery=OuterRef("pk"))
            .order_by()
            .values("delivery")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_papers=Coalesce(Subquery(items), 0))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("digest.change_delivery")

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery: Delivery) -> str:
        return badge(delivery.get_status_display(), delivery.status)

    @admin.display(description="papers")
    def paper_count(self, delivery):
        return delivery._papers

    @admin.display(description="email")
    def preview(self, delivery):
        url = reverse("digest:admin_preview", args=[delivery.public_id])
        return format_html('<a href="{}" target="_blank" rel="noopener">view</a>', url)

    @admin.action(
        description="Resend the selected deliveries (same papers) on the next tick",
        permissions=["resend"],
    )
    def resend(self, request, queryset):
        page = confirmed(
            self,
            request,
            queryset,
            question="Send these digests again?",
            consequence="Each goes back in the queue with the same papers and is mailed "
            "again on the next send tick (within minutes), even if it was sent already.",
        )
        if page is not None:
            return page
        rows = list(queryset.exclude(status=Delivery.Status.SENDING))
        count = Delivery.objects.filter(pk__in=[r.pk for r in rows]).update(
            status=Delivery.Status.PENDING, claim_token="", claimed_at=None, error=""
        )
        action_log(self, request, rows, "queued to be sent again (admin action)")
        self.message_user(request, f"{count} deliveries queued to be sent again.")
