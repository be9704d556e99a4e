"""System checks for a deployment that outgrew one machine."""

from django.conf import settings
from django.core import checks

from .http import PROCESS_LOCAL_CACHES


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
