from django.apps import AppConfig


class CockpitConfig(AppConfig):
    name = "digest.cockpit"
    label = "cockpit"
    verbose_name = "Cockpit"
    default_auto_field = "django.db.models.BigAutoField"
