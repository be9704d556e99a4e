"""Pieces both apps' admins share: list fields for JSON lists (never a raw JSON textarea),
status badges, names for weekdays and hours, and a paginator that estimates big counts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, cast

from django import forms
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

log = logging.getLogger("digest.admin")

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEEKDAY_CHOICES = list(enumerate(WEEKDAYS))
HOUR_CHOICES = [(h, f"{h:02d}:00") for h in range(24)]
# Below this many rows an exact COUNT(*) is cheap everywhere; above it, on PostgreSQL,
# an unfiltered list shows the planner's estimate instead of scanning the table.
EXACT_COUNT_BELOW = 50_000


def badge(text: str, kind: str = "") -> SafeString:
    return format_html('<span class="badge badge-{}">{}</span>', kind or text, text)


def badges(items: Iterable[str], kind: str) -> SafeString:
    return format_html_join(
        " ", '<span class="badge badge-{}">{}</span>', ((kind, i) for i in items)
    )


class EstimatedCountPaginator(Paginator):
    """Exact counts for filtered lists and small tables; PostgreSQL's own row estimate
    (pg_class.reltuples, kept by autovacuum) for a whole big table, where COUNT(*) reads
    every row. SQLite has no estimate, and counts its smallest index quickly enough."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None or query.where or query.distinct:
            return super().count
        rows = cast(QuerySet, self.object_list)  # it has a .query: the admin's QuerySet
        estimate = _estimated_rows(rows.db, query.model._meta.db_table)
        if estimate is None or estimate < EXACT_COUNT_BELOW:
            return super().count
        return estimate


def _estimated_rows(alias: str, table: str) -> int | None:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else None


# --- List fields ------------------------------------------------------------------------


class OnePerLineField(forms.Field):
    """A JSON list of strings edited as a textarea, one item per line."""

    widget = forms.Textarea(attrs={"rows": 6, "class": "one-per-line"})

    def __init__(self, *, max_items: int = 500, max_length: int = 300, **kwargs: Any) -> None:
        self.max_items, self.max_length = max_items, max_length
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(str(item) for item in value)
        return value or ""

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        items, seen = [], set()
        for line in (value or "").splitlines():
            item = " ".join(line.split())
            if item and item.lower() not in seen:
                seen.add(item.lower())
                items.append(item)
        return items

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        if len(value) > self.max_items:
            raise forms.ValidationError(f"{len(value)} lines; {self.max_items} at most.")
        long = [item for item in value if len(item) > self.max_length]
        if long:
            raise forms.ValidationError(
                f"Keep each line under {self.max_length} characters: “{long[0][:40]}…”."
            )


class CategoryPicker(FilteredSelectMultiple):
    """The admin's two-box picker, written in Python: the stock widget renders a
    template per option, about 20 ms for the taxonomy's ~140 categories on this machine,
    twice per subscriber page (the inline's empty form). Wrapped, because its script
    puts the boxes first in their parent, which would be before the field's label."""

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None):
        context = self.get_context(name, value, attrs)["widget"]
        chosen = {str(v) for v in (value or [])}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (code, mark_safe(" selected") if str(code) in chosen else "", label)  # noqa: S308
                for code, label in self.choices
            ),
        )
        return format_html(
            '<div class="picker"><select name="{}"{}>{}</select></div>',
            name,
            flatatt(context["attrs"]),
            options,
        )


class CategoryPickerField(forms.TypedMultipleChoiceField):
    """arXiv categories picked from the taxonomy with the admin's searchable two-box picker.

    A category held but not in the taxonomy (a new or retired one) stays selectable, so
    saving a paper never drops it."""

    def __init__(self, *, choices: Callable[[], list[tuple[str, str]]], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", CategoryPicker("categories", is_stacked=False))
        super().__init__(choices=choices, coerce=str, **kwargs)

    def keep_unknown(self, held: Iterable[str]) -> None:
        # ChoiceField keeps the callable given as a CallableChoiceIterator of pairs
        current = list(cast(Iterable[tuple[str, str]], self.choices))
        known = {code for code, _ in current}
        extra = [(code, f"{code} (not in the taxonomy)") for code in held if code not in known]
        if extra:
            self.choices = [*current, *extra]


class ChipsInput(forms.TextInput):
    """Keywords typed as a subscriber types them (`"graph networks" -survey`), shown
    below as chips, the way the ranking reads them (static/js/admin-chips.js keeps the
    chips in step while typing)."""

    template_name = "cockpit/widgets/chips.html"

    def __init__(self, parse: Callable[[str], list[str]], attrs: dict | None = None) -> None:
        super().__init__(attrs={"class": "chips-input", **(attrs or {})})
        self.parse = parse

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        context["chips"] = self.parse(value if isinstance(value, str) else "")
        return context

    class Media:
        js = ["js/admin-chips.js"]


class ChipsField(forms.CharField):
    """A JSON list of keywords as one line of text; `parse` validates (and may refuse)."""

    def __init__(
        self,
        *,
        parse: Callable[[str], list[str]],
        preview: Callable[[str], list[str]],
        format: Callable[[list[str]], str],
        **kw: Any,
    ) -> None:
        self.parse, self.format = parse, format
        kw.setdefault("required", False)
        kw.setdefault("widget", ChipsInput(preview))
        super().__init__(**kw)

    def prepare_value(self, value: Any) -> str:
        return self.format(value) if isinstance(value, list) else (value or "")

    def clean(self, value: Any) -> list[str]:
        return self.parse(super().clean(value) or "")

    def has_changed(self, initial: Any, data: Any) -> bool:
        """Compared as keyword lists: the stored list against the typed text."""
        try:
            return self._keywords(initial) != self._keywords(data)
        except forms.ValidationError:
            return True

    def _keywords(self, value: Any) -> list[str]:
        return list(value) if isinstance(value, list) else self.parse(value or "")


# --- Guarded actions ----------------------------------------------------------------------


def confirmed(
    modeladmin: Any, request: Any, queryset: Any, *, question: str, consequence: str
) -> TemplateResponse | None:
    """None once staff confirmed on the intermediate page (the action then runs), else
    that page: what will happen, to which rows, and a POST form carrying the selection."""
    if request.POST.get("confirm") == "yes":
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": question,
        "question": question,
        "consequence": consequence,
        "objects": list(queryset[:50]),
        "count": queryset.count(),
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
        "opts": modeladmin.model._meta,
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "cockpit/confirm_action.html", context)


def action_log(modeladmin: Any, request: Any, objects: Iterable[Any], message: str) -> None:
    """Each row an action touched gets an admin history entry (who, when, what), and one
    log line says it for the logs."""
    objects = list(objects)
    for obj in objects:
        modeladmin.log_change(request, obj, message)
    log.info(
        "admin action by %s: %s (%d %s)",
        request.user,
        message,
        len(objects),
        modeladmin.model._meta.verbose_name_plural,
        extra={"user_id": request.user.pk, "ids": [o.pk for o in objects][:100]},
    )
