import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")

app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
