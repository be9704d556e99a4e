"""gunicorn settings for Paperboy's web process (docker-compose.yml and paperboy-web.service).

Everything comes from the environment, like the Django settings. Access and error lines
are JSON objects, one per line, like the application's own logs (LOG_FORMAT=plain turns
them back into text).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Two per CPU is plenty: requests are short and the heavy work runs in Celery workers.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
# nginx (or the compose proxy) sets X-Forwarded-Proto; only trust it from these peers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# The peer (nginx), the client's address nginx passed on, and the request line with its
# signed tokens replaced by "[token]" (digest/ops/accesslog.py): a link in a log would
# let its reader act as that subscriber.
access_log_format = '%(h)s %({x-real-ip}i)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
logger_class = "digest.ops.accesslog.RedactingLogger"

if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(levelname)s %(name)s %(message)s",
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
            }
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json"},
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
