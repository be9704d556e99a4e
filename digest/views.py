import uuid

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from subscriptions import tokens

from . import selectors
from .delivery.links import Links
from .delivery.previews import render_delivery
from .mail import outbox
from .models import Delivery

# The outbox shows email HTML, which is all inline styles: allow those, nothing else.
EMAIL_PREVIEW_CSP = (
    "default-src 'none'; img-src 'self' data: https:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; sandbox allow-popups allow-top-navigation-by-user-activation"
)
ARCHIVE_PAGE_SIZE = 20
# The outbox frames a message from our own origin: links in it must leave the frame,
# since the pages they open refuse to be framed (frame-ancestors 'none').
_TOP_TARGET = '<base target="_top">'


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
    html = message.html.replace("<head>", "<head>" + _TOP_TARGET, 1)
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@staff_member_required
def admin_preview(request, public_id):
    """A delivery's email as the admin's deliveries list links it: for staff who may see
    deliveries, and with links that carry no token (`StaffPreviewLinks`)."""
    if not any(request.user.has_perm(f"digest.{p}_delivery") for p in ("view", "change")):
        raise PermissionDenied
    delivery = get_object_or_404(Delivery, public_id=public_id)
    html = render_delivery(delivery, for_staff=True)[2]
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    return response


def _viewer_delivery(token: str) -> Delivery | None:
    """The delivery a view-digest link names, if the link is genuine and it is theirs."""
    try:
        data = tokens.read_token(token, tokens.Purpose.VIEW_DIGEST)
        return Delivery.objects.select_related("subscriber").get(
            public_id=uuid.UUID(hex=data.extra),
            subscriber__public_id=data.subscriber_public_id,
        )
    except (tokens.BadToken, ValueError, Delivery.DoesNotExist):
        return None


def view_digest(request, token: str):
    """A delivered digest as a web page, through the signed link in its email."""
    delivery = _viewer_delivery(token)
    if delivery is None:
        return render(request, "subscriptions/bad_link.html", {"expired": False}, status=404)
    # The link never expires, so the page's links are signed as the mail's were (or as
    # of the sending, for a link made later by the archive): none outlives the mail's.
    mailed = tokens.signed_at(token)
    signed_at = min(mailed, delivery.sent_at) if delivery.sent_at else mailed
    html = render_delivery(delivery, web=True, signed_at=signed_at)[2]
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = EMAIL_PREVIEW_CSP
    response["X-Robots-Tag"] = "noindex"
    return response


def digest_archive(request, token: str):
    """The subscriber's earlier digests, newest first, each linked as it was sent. The
    view-digest token of any of their digests opens it; nobody else's are listed."""
    delivery = _viewer_delivery(token)
    if delivery is None:
        return render(request, "subscriptions/bad_link.html", {"expired": False}, status=404)
    paginator = Paginator(selectors.sent_deliveries(delivery.subscriber), ARCHIVE_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    links = Links()
    rows = [{"delivery": row, "url": links.view(row), "count": row.item_count} for row in page]
    response = render(
        request,
        "digest/archive.html",
        {"page": page, "rows": rows, "current": delivery, "back_url": links.view(delivery)},
    )
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "private, no-store"
    return response
