"""Ingest benchmark on realistic booth photos through the Gemini adapter (issue 10).

Run from the repository root with the project's venv::

    .venv/bin/python bench/ingest_bench.py --help
    .venv/bin/python bench/ingest_bench.py              # full run, ~12 min on 2 cores
    .venv/bin/python bench/ingest_bench.py --quick      # 1 MB photo only, fewer repetitions
    .venv/bin/python bench/ingest_bench.py --scenario one --scenario fifteen --json out.json

The code is in ``bench/photochanger_bench/``; see ``bench/README.md`` for what each figure means.
"""

import sys

from photochanger_bench.main import main

if __name__ == "__main__":
    sys.exit(main())
