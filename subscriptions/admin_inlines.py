"""The subscriber page's inlines: interests edited with real widgets, answers and the
learner read only."""

from typing import cast

from django import forms
from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from digest.cockpit.adminkit import CategoryPickerField, ChipsField, OnePerLineField

from . import categories, interests
from .admin_forms import SavesWhatStaffChanged
from .forms import clean_keywords_text
from .models import Feedback, Interest, Learner, RefitRequest, Subscriber


class InterestForm(SavesWhatStaffChanged):
    categories = CategoryPickerField(choices=categories.choices)
    keywords = ChipsField(
        parse=clean_keywords_text,
        preview=interests.parse_keywords,
        format=interests.format_keywords,
        max_length=1000,
    )
    authors = OnePerLineField(help_text="One author per line.", max_items=50)

    class Meta:
        model = Interest
        fields = ("categories", "keywords", "authors", "description")
        widgets = {"description": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        picker = cast(CategoryPickerField, self.fields["categories"])
        picker.keep_unknown(self.instance.categories or [])


class InterestInline(admin.StackedInline):
    model = Interest
    form = InterestForm
    can_delete = False
    extra = 0


class ReadOnlyInline(admin.TabularInline):
    """Rows written only by the services (answers by the subscriber, learners by the refit
    task): staff look, never add, change or delete here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class LearnerInline(ReadOnlyInline):
    model = Learner
    fields = ("model", "fitted_at", "liked", "disliked", "size", "signature_short", "refit")
    readonly_fields = fields
    verbose_name = "learner (a small model fitted on the answers below)"
    verbose_name_plural = verbose_name

    def get_queryset(self, request: HttpRequest) -> QuerySet[Learner]:
        # Each row's title names its subscriber: joined, not asked for.
        return super().get_queryset(request).select_related("subscriber")

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # Learners have no admin of their own, so nobody is granted their permissions:
        # whoever may see the subscriber sees the learner.
        opts = Subscriber._meta
        return any(
            request.user.has_perm(f"{opts.app_label}.{get_permission_codename(p, opts)}")
            for p in ("view", "change")
        )

    @admin.display(description="size")
    def size(self, learner: Learner) -> str:
        return f"{len(learner.weights)} bytes"

    @admin.display(description="signature")
    def signature_short(self, learner: Learner) -> str:
        return learner.signature[:12]

    @admin.display(description="refit")
    def refit(self, learner: Learner) -> str:
        """Whether answers given since the fit wait for the batched refit (a cockpit warning
        after an hour)."""
        waiting = RefitRequest.objects.filter(subscriber_id=learner.subscriber_id).first()
        if waiting is None:
            return "up to date"
        return f"waiting since {timezone.localtime(waiting.requested_at):%Y-%m-%d %H:%M:%S}"


class FeedbackInline(ReadOnlyInline):
    model = Feedback
    fields = ("created_at", "signal", "paper")
    readonly_fields = fields
    ordering = ("-created_at",)
    verbose_name = "answer"
    verbose_name_plural = "answers (more or fewer like this, papers step, examples)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Feedback]:
        # Each row's title names its subscriber and paper: joined, not asked for per row.
        return super().get_queryset(request).select_related("subscriber", "paper")
