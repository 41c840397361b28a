"""Hypothesis profiles for the whole suite: ``ci`` (the default) and ``long``.

``pytest --hypothesis-profile=long`` runs every property test, the fuzz suite of the public
routes included, with twenty times the examples and no per-example deadline: a local soak,
not for CI. The fuzz suite scales its example counts from the loaded profile's
``max_examples`` (see ``tests/integration/test_fuzz_public_routes.py``).
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("ci", print_blob=True)
settings.register_profile("long", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile("ci")
