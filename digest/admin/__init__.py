"""The staff console: papers, sources and their runs, deliveries.

Every list reads a bounded number of queries at any size: related rows are joined
(list_select_related) or fetched per page, counts of whole big tables are estimated on
PostgreSQL (EstimatedCountPaginator, show_full_result_count off), and dates are filtered
by preset ranges instead of a date hierarchy that reads every distinct day.
"""

from django.conf import settings
from django.contrib import admin

# Each module registers its models with the site.
from . import deliveries, papers, sources  # noqa: F401

admin.site.site_header = f"{settings.SITE_NAME} staff"
admin.site.site_title = settings.SITE_NAME
admin.site.index_title = "Operations"
# The lists need the width more than a second menu; Home is one click away.
admin.site.enable_nav_sidebar = False
