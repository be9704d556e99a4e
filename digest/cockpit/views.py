"""The dashboard and its CSV downloads; digest/urls.py wraps both in the admin's staff-only
guard (admin.site.admin_view), so they share the admin's login, session and CSRF."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone

from . import board, stats, warnings

DAYS = 14


def dashboard(request: HttpRequest) -> HttpResponse:
    series = stats.series_read(DAYS)
    context = {
        **admin.site.each_context(request),
        "title": "Cockpit",
        "alerts": warnings.alerts_collect(),
        "charts": board.charts_build(series),
        "sources": board.sources_last_run(),
        "most_upvoted": stats.papers_most_upvoted(),
        "rising": stats.papers_rising(),
        "now": timezone.now(),
    }
    return render(request, "cockpit/dashboard.html", context)


def chart_csv(request: HttpRequest, slug: str) -> HttpResponse:
    charts = {chart.slug: chart for chart in board.charts_build(stats.series_read(DAYS))}
    chart = charts.get(slug)
    if chart is None:
        raise Http404("no such chart")
    response = HttpResponse(chart.csv(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="paperboy-{slug}-{stamp}.csv"'
    return response


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page links; send them to the real icon
    (resolved per request: the hashed name exists only after collectstatic)."""
    return redirect(static("favicon.svg"))
