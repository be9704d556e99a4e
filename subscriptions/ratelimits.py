"""Rate limits on the forms that send mail to an address anyone can type, and on the one
that makes us ask arXiv ("papers I like").

They count per client IP and per address or subscriber, in the default cache
(django-ratelimit).
settings.RATELIMIT_ENABLE switches them off; settings.PAPERBOY_RATES may override a rate.
"""

from __future__ import annotations

from django.conf import settings
from django_ratelimit.core import is_ratelimited

from .addresses import normalise_email, unquoted

RATES = {
    # Every POST counts against the IP, so a script cannot try address after address.
    "signup.ip": "20/h",
    # A confirmation mail to one address at most every few minutes: enough for a person
    # whose first mail went astray, too few to flood their inbox.
    "signup.email": "5/h",
    "link.ip": "20/h",
    "link.email": "5/h",
    # Each paste of unknown papers takes one of arXiv's request slots, shared with the
    # pulls (one every 3 s for the whole site): a script must not starve ingestion.
    "examples.ip": "60/h",
    "examples.subscriber": "20/h",
}


def rate(name: str) -> str:
    return getattr(settings, "PAPERBOY_RATES", {}).get(name, RATES[name])


def ip_limited(request, scope: str) -> bool:
    name = f"{scope}.ip"
    return is_ratelimited(
        request, group=f"paperboy.{name}", key="ip", rate=rate(name), increment=True
    )


def email_limited(request, scope: str, email: str) -> bool:
    return _key_limited(request, f"{scope}.email", mailbox_key(email))


# Gmail ignores dots in the local part (c.a.r.o.l@ is carol@), under either of its names.
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox_key(email: str) -> str:
    """The inbox an address reaches, as the per-address limits count it: `carol+1@` and
    `carol+2@` are carol@'s inbox at most providers, so a "+tag" must not buy another
    five mails an hour into it; nor, at Gmail, do dots (a dozen-letter name has
    thousands of dotted spellings); nor do quotes and backslashes anywhere."""
    local, at, domain = normalise_email(email).lower().rpartition("@")
    local = unquoted(local)  # quotes and backslashes make no new buckets
    local = local.partition("+")[0] or local
    if domain in DOTLESS_DOMAINS:
        local, domain = local.replace(".", "") or local, DOTLESS_DOMAINS[domain]
    return f"{local}{at}{domain}"


def subscriber_limited(request, scope: str, subscriber_id: int) -> bool:
    return _key_limited(request, f"{scope}.subscriber", str(subscriber_id))


def _key_limited(request, name: str, key: str) -> bool:
    return is_ratelimited(
        request,
        group=f"paperboy.{name}",
        key=lambda _group, _request: key,
        rate=rate(name),
        increment=True,
    )
