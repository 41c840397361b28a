"""The ingest benchmark of issue 10, split by purpose: photos, fake_gemini, service, load,
measure, rig, scenarios, report; ``main`` is the command line (``bench/ingest_bench.py``)."""
