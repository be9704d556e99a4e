"""The staff cockpit: the service's health at a glance (daily stats, charts, warnings).

stats.py reads and rolls up the numbers, charts.py draws them as SVG, warnings.py says
what needs a person, views.py serves the dashboard inside the admin.
"""
