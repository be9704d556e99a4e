"""The cockpit's one table: a number per day, metric and key, so charts never scan."""

from django.db import models


class DailyStat(models.Model):
    """One day's value of one metric (e.g. `digests` / `sent`, `papers.new` / a source).

    Computed metrics are written by the rollup once a day is over; counters (bounces,
    complaints from the mail service's webhooks) are incremented as the events arrive.
    """

    day = models.DateField()
    metric = models.CharField(max_length=40)
    key = models.CharField(max_length=100, blank=True, default="")
    value = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["day", "metric", "key"]
        verbose_name = "daily stat"
        constraints = [
            # Also the index the dashboard reads its date range through.
            models.UniqueConstraint(
                fields=["day", "metric", "key"], name="dailystat_one_per_day_metric_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}[{self.key}] = {self.value}"
