"""A strict Content-Security-Policy: our own scripts and styles only, no third party; no
NUL character in what a request sends; and no cache keeps a page opened through a link."""

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import QueryDict
from django.utils.cache import patch_cache_control

POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The admin ships inline scripts and styles of its own; it is staff-only.
        if not request.path.startswith("/admin/"):
            response.setdefault("Content-Security-Policy", getattr(settings, "CSP", POLICY))
        return response


class RefuseNulCharactersMiddleware:
    """A NUL character in a query or form value (or name) gets the 400 page.

    No one types one, and PostgreSQL refuses it in text and in JSON (SQLite stores it): a
    posted value that reached a query raised in the database driver, a server error.
    Django's form fields refuse NUL with their own message; this holds for the views that
    read a posted value without a form too (an answer's arXiv id, a reading's term).
    The form of a view exempt from CSRF (an email service's webhook, which may read its
    body itself) is left unread, as CsrfViewMiddleware leaves it; every other POST's form
    is read by CsrfViewMiddleware anyway."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        posted = request.method == "POST" and not getattr(view_func, "csrf_exempt", False)
        if _holds_nul(request.GET) or (posted and _holds_nul(request.POST)):
            raise BadRequest("a NUL character in a query or form value")
        return None


def _holds_nul(values: QueryDict) -> bool:
    return any("\x00" in name or any("\x00" in v for v in values.getlist(name)) for name in values)


class NoStoreForTokenPagesMiddleware:
    """`Cache-Control: private, no-store` on every answer at an address that carries a
    signed token (any route with a `token` in its pattern): pages, htmx fragments, the
    answers to their POSTs, the bad-link page.

    Such a page holds the key it was opened with (in its address, its forms and links)
    and shows the subscriber's address. Without the header a browser kept it in its disk
    cache and history, where the next user of a shared computer found it after an
    unsubscribe or a deletion, and a shared cache on the way was free to keep it too.
    Set here rather than view by view, so a page added under a token later is covered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and "token" in match.kwargs:
            patch_cache_control(response, private=True, no_store=True)
        return response
