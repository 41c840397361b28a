"""Where the service's CPU goes per ingest: py-spy on ``photochanger serve`` (issue 10).

Run from the repository root with the project's venv and a py-spy binary::

    .venv/bin/python bench/profile_service.py --py-spy /tmp/pyspy/bin/py-spy --scenario one
    .venv/bin/python bench/profile_service.py --py-spy ... --scenario throughput --ingests 300

The code is in ``bench/photochanger_bench/profile.py``.
"""

import sys

from photochanger_bench.profile import main

if __name__ == "__main__":
    sys.exit(main())
