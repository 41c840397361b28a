"""Prometheus metrics (SPEC §11): counters and histograms this process records, and gauges
read from the database and ``MEDIA_ROOT`` (cached), exposed in the text format."""
