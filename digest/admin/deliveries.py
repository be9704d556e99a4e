"""Deliveries: read-only records of each digest; resending is a guarded action."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from digest.cockpit.adminkit import (
    EstimatedCountPaginator,
    action_log,
    badge,
    confirmed,
)
from digest.delivery.planning import deliveries_requeue
from digest.models import (
    Delivery,
    DeliveryItem,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _Counted(TypedDict):
    """What DeliveryAdmin.get_queryset annotates each row with."""

    _papers: int


class DeliveryItemInline(admin.TabularInline):
    model = DeliveryItem
    extra = 0
    fields = ("rank", "paper", "score", "reason")
    readonly_fields = fields
    can_delete = False
    max_num = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
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
        "short_error",
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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never from the deliveries' own pages: a deleted row is a day not yet planned, so
        the next tick would mail that digest again (and the papers it carried could come
        back). A subscriber's deletion asks this too, for the rows that go with them, and
        may."""
        match = request.resolver_match
        own_page = match is not None and (match.url_name or "").startswith("digest_delivery_")
        return not own_page and super().has_delete_permission(request, obj)

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("digest.change_delivery")

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery: Delivery) -> str:
        return badge(delivery.get_status_display(), delivery.status)

    @admin.display(description="papers")
    def paper_count(self, delivery: WithAnnotations[Delivery, _Counted]) -> int:
        return delivery._papers

    @admin.display(description="error or reason it waits")
    def short_error(self, delivery: Delivery) -> str:
        first = delivery.error.splitlines()[0] if delivery.error else ""
        return first[:100] + ("…" if len(first) > 100 else "")

    @admin.display(description="email")
    def preview(self, delivery: Delivery) -> str:
        url = reverse("digest:admin_preview", args=[delivery.public_id])
        return format_html('<a href="{}" target="_blank" rel="noopener">view</a>', url)

    @admin.action(
        description="Resend the selected deliveries (same papers) on the next tick",
        permissions=["resend"],
    )
    def resend(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
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
        chosen = list(queryset)
        rows = [r for r in chosen if r.status != Delivery.Status.SENDING]
        # The UPDATE itself leaves out the rows a sender claimed since they were read.
        count = deliveries_requeue(Delivery.objects.filter(pk__in=[r.pk for r in rows]))
        action_log(self, request, rows, "queued to be sent again (admin action)")
        message = f"{count} deliveries queued to be sent again."
        busy = len(chosen) - count
        if busy:
            message += (
                f" {busy} being sent right now {'was' if busy == 1 else 'were'} left alone: "
                "resend once the sender has recorded it."
            )
        self.message_user(request, message)
        return None
