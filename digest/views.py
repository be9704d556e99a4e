import uuid

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from subscriptions import tokens

from .delivery.previews import render_delivery
from .mail import outbox
from .models import Delivery

# The outbox shows email HTML, which is all inline styles: allow those, nothing else.
EMAIL_PREVIEW_CSP = (
    "default-src 'none'; img-src 'self' data: https:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; sandbox allow-popups allow-top-navigation-by-user-activation"
)


def _debug_only() -> None:
    if not settings.DEBUG:
        raise Http404("The outbox exists only in DEBUG mode.")


def outbox_list(request):
    _debug_only()
    return render(request, "digest/outbox_list.html", {"messages_": outbox.list_messages()})


def outbox_message(request, name: str):
    _debug_only()
    message = outbox.find_message(name)
    if message is None:
        raise Http404("No such message in the outbox.")
    return render(request, "digest/outbox_message.html", {"message": message})


def outbox_html(request, name: str):
    _debug_only()
    message = outbox.find_message(name)
    if message is None:
        raise Http404("No such message in the outbox.")
    response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@staff_member_required
def admin_preview(request, public_id):
    delivery = get_object_or_404(Delivery, public_id=public_id)
    response = HttpResponse(render_delivery(delivery)[2], content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    return response


def view_digest(request, token: str):
    """A delivered digest as a web page, through the signed link in its footer."""
    try:
        data = tokens.read_token(token, tokens.Purpose.VIEW_DIGEST)
        delivery = Delivery.objects.select_related("subscriber").get(
            public_id=uuid.UUID(hex=data.extra),
            subscriber__public_id=data.subscriber_public_id,
        )
    except (tokens.BadToken, ValueError, Delivery.DoesNotExist):
        return render(request, "subscriptions/bad_link.html", {"expired": False}, status=404)
    response = HttpResponse(render_delivery(delivery)[2], content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    response["X-Robots-Tag"] = "noindex"
    return response
