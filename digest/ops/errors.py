"""The pages for a request that could not be read (400) or failed (500), in the site's look.

Django's own handlers render 400.html and 500.html without the request, so the context
processors never run and the pages would lack the site's name; these pass what the pages
need from settings alone. The 500 page is rendered when something has already failed, so
it asks nothing of the database, the request or the static-files manifest. 403.html and
404.html are rendered by Django's handlers, with the request.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.template import loader

# What Django refuses to read at all (DATA_UPLOAD_MAX_MEMORY_SIZE and its kin).
TOO_BIG = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponseBadRequest:
    context = {"SITE_NAME": settings.SITE_NAME, "too_big": isinstance(exception, TOO_BIG)}
    return HttpResponseBadRequest(loader.render_to_string("400.html", context))


def server_error(request: HttpRequest) -> HttpResponseServerError:
    context = {"SITE_NAME": settings.SITE_NAME, "STATIC_URL": settings.STATIC_URL}
    return HttpResponseServerError(loader.render_to_string("500.html", context))


def too_large(request: HttpRequest) -> HttpResponse:
    """The page nginx shows instead of its own when a request's body is over its
    client_max_body_size (deploy/nginx: `error_page 413`); nginx keeps the 413."""
    context = {"SITE_NAME": settings.SITE_NAME, "too_big": True}
    return HttpResponse(loader.render_to_string("400.html", context), status=413)
