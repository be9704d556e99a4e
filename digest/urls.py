from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from digest import views
from digest.cockpit import views as cockpit
from digest.delivery import feed, webhooks  # noqa: F401 - webhooks connects a receiver
from digest.ops import checks, errors, health

# The staff cockpit lives inside the admin: admin_view refuses anyone not active staff.
cockpit_patterns = (
    [
        path("", admin.site.admin_view(cockpit.dashboard), name="dashboard"),
        path("<slug:slug>.csv", admin.site.admin_view(cockpit.chart_csv), name="csv"),
    ],
    "cockpit",
)

digest_patterns = (
    [
        path("outbox/", views.outbox_list, name="outbox"),
        path("outbox/<str:name>/", views.outbox_message, name="outbox_message"),
        path("outbox/<str:name>/html/", views.outbox_html, name="outbox_html"),
        path("admin-preview/<uuid:public_id>/", views.admin_preview, name="admin_preview"),
        path("digest/<str:token>/", views.view_digest, name="view"),
        path("digest/<str:token>/archive/", views.digest_archive, name="archive"),
        path("feed/<str:token>/", feed.digest_feed, name="feed"),
    ],
    "digest",
)


def email_service_webhooks() -> list[URLPattern | URLResolver]:
    """Anymail's bounce and complaint webhooks, which suppress addresses: only when an
    email service is configured, and in production only behind its secret (digest.E001
    refuses to start without one; gunicorn runs no checks, so it is also enforced here)."""
    if not settings.ANYMAIL_ESP:
        return []
    if not settings.DEBUG and not checks.webhook_secrets():
        return []
    return [path("anymail/", include("anymail.urls"))]


urlpatterns = [
    path("admin/cockpit/", include(cockpit_patterns)),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico whatever the page says; send them to the real one.
    path("favicon.ico", cockpit.favicon, name="favicon"),
    path("health/", health.health, name="health"),
    path("request-too-large/", errors.too_large, name="request_too_large"),
    *email_service_webhooks(),
    path("", include(digest_patterns)),
    path("", include("subscriptions.urls")),
]

# 403 and 404 use Django's handlers with templates/403.html and 404.html.
handler400 = errors.bad_request
handler500 = errors.server_error
