"""Sources (added by URL or by arXiv category) and their fetch runs (read-only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ShowFacets
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from digest.cockpit.adminkit import (
    EstimatedCountPaginator,
    action_log,
    badge,
    confirmed,
)
from digest.models import (
    FetchRun,
    Source,
    SourceKind,
)
from digest.sources import reach
from digest.sources.arxiv_rss import feed_url
from digest.sources.base import IngestError
from digest.tasks import ingest_source

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _LastRun(TypedDict):
    """What SourceAdmin.get_queryset annotates each source with (None: never run)."""

    _last_status: str | None
    _last_started: datetime | None
    _last_new: int | None


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["url"].required = False
        url = cast(forms.URLField, self.fields["url"])
        # django-stubs declares assume_scheme as URLField's argument only, not its attribute
        url.assume_scheme = "https"  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm's returns cleaned_data; the stubs say it may be None
        data = self.cleaned_data
        categories = data.get("categories", "").replace(",", " ").split()
        if categories:
            if data.get("kind") != SourceKind.ARXIV_RSS:
                self.add_error("categories", "Categories only make sense for an arXiv feed.")
            else:
                try:
                    data["url"] = feed_url(categories)
                except IngestError as error:
                    self.add_error("categories", str(error))
        elif self.has_error("url"):
            pass  # said already: not a URL (a file:// path, a typo)
        elif not data.get("url"):
            self.add_error("url", "Give the feed's URL (or, for arXiv, its categories).")
        else:
            # Said here, where it can be fixed, rather than by the first pull's failure
            # (the fetch checks again, redirects included).
            url = data["url"]
            try:
                reach.check_host(urlsplit(url).hostname or "", url)
            except IngestError as error:
                self.add_error("url", str(error))
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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
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

    def save_model(self, request: HttpRequest, obj: Source, form: Any, change: bool) -> None:
        # The conditional-GET validators are the old feed's: sent with a new URL they can
        # earn a 304 (arXiv rebuilds every feed at once, so Last-Modified matches) and the
        # new feed's papers would wait for its next rebuild.
        if change and {"url", "kind", "categories"} & set(form.changed_data):
            obj.etag, obj.last_modified = "", ""
        super().save_model(request, obj, form, change)

    @admin.display(description="kind", ordering="kind")
    def kind_code(self, source: Source) -> str:
        return format_html('<span title="{}">{}</span>', source.get_kind_display(), source.kind)

    @admin.display(description="fetched", ordering="fetch_every")
    def schedule(self, source: Source) -> str:
        return _every(source.fetch_every)

    @admin.display(description="last run", ordering="_last_started")
    def last_run(self, source: WithAnnotations[Source, _LastRun]) -> str:
        if source._last_status is None:
            return badge("never", "never")
        return format_html(
            '{} <span class="muted">{} · +{} new</span>',
            badge(FetchRun.Status(source._last_status).label, source._last_status),
            f"{source._last_started:%d %b %H:%M}",
            source._last_new,
        )

    @admin.action(description="Re-fetch the selected sources now", permissions=["change"])
    def run_now(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
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
        return None


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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, run: FetchRun) -> str:
        return badge(run.get_status_display(), run.status)

    @admin.display(description="error")
    def short_error(self, run: FetchRun) -> str:
        return run.error[:80]
