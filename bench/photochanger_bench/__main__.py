"""``python -m photochanger_bench`` (from ``bench/``): the same as ``bench/ingest_bench.py``."""

import sys

from photochanger_bench.main import main

sys.exit(main())
