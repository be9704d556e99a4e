"""Default sources: the arXiv announcement feeds of the common ML categories, and HF Daily Papers."""

from django.db import migrations

DEFAULT_SOURCES = [
    *(
        (f"arXiv {category}", "arxiv-rss", f"https://rss.arxiv.org/rss/{category}")
        for category in ("cs.LG", "cs.CL", "cs.CV", "cs.AI", "stat.ML")
    ),
    ("Hugging Face Daily Papers", "hf-daily", "https://huggingface.co/api/daily_papers"),
]


def create_sources(apps, schema_editor):
    Source = apps.get_model("digest", "Source")
    for name, kind, url in DEFAULT_SOURCES:
        # Staff may have added the same feed already: keep theirs.
        if not Source.objects.filter(kind=kind, url=url).exists():
            Source.objects.get_or_create(name=name, defaults={"kind": kind, "url": url})


def remove_sources(apps, schema_editor):
    Source = apps.get_model("digest", "Source")
    for name, kind, url in DEFAULT_SOURCES:
        Source.objects.filter(name=name, kind=kind, url=url).delete()


class Migration(migrations.Migration):
    dependencies = [("digest", "0002_initial")]

    operations = [migrations.RunPython(create_sources, remove_sources)]
