"""The staff console for subscribers: their interests, feedback and suppression."""

from django.contrib import admin
from django.utils import timezone

from .models import Feedback, Interest, Subscriber
from .services import interest_save


class InterestInline(admin.StackedInline):
    model = Interest
    can_delete = False
    extra = 0


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "status",
        "frequency",
        "send_hour",
        "time_zone",
        "paper_limit",
        "created_at",
        "failure_count",
    )
    list_filter = ("status", "frequency", "empty_day", "time_zone")
    search_fields = ("email",)
    date_hierarchy = "created_at"
    readonly_fields = ("public_id", "created_at", "confirmed_at", "unsubscribed_at")
    inlines = [InterestInline]
    actions = ["suppress", "reactivate"]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Interest:
            return super().save_formset(request, form, formset, change)
        # Through the service, as the preferences page saves it: a changed description
        # gets its encoder vector.
        for interest in formset.save(commit=False):
            interest_save(interest)
        formset.save_m2m()

    @admin.action(description="Suppress the selected addresses (no more mail)")
    def suppress(self, request, queryset):
        count = queryset.update(
            status=Subscriber.Status.BOUNCED,
            suppressed_reason=f"suppressed by {request.user} on {timezone.now():%Y-%m-%d}",
        )
        self.message_user(request, f"{count} subscribers suppressed.")

    @admin.action(description="Reactivate the selected addresses")
    def reactivate(self, request, queryset):
        count = queryset.update(
            status=Subscriber.Status.ACTIVE, suppressed_reason="", failure_count=0
        )
        self.message_user(request, f"{count} subscribers reactivated.")


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subscriber", "paper", "signal")
    list_filter = ("signal",)
    search_fields = ("subscriber__email", "paper__arxiv_id")
    raw_id_fields = ("subscriber", "paper")
