import os

from celery import Celery

from digest.ops.brokerfix import survive_dropped_transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")

survive_dropped_transport()
app = Celery("paperboy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
