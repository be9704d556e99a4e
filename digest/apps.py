from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DigestConfig(AppConfig):
    name = "digest"
    verbose_name = "Papers and digests"

    def ready(self) -> None:
        from .delivery.schedule import ensure_default_schedule  # needs the registry loaded
        from .ops import checks  # noqa: F401 - registers the system checks once apps are ready
        from .ops.ratecache import create_cache_tables  # needs the registry loaded

        post_migrate.connect(ensure_default_schedule, sender=self)
        post_migrate.connect(create_cache_tables, sender=self)
