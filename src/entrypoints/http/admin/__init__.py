"""The operator's JSON API under ``/api/`` (SPEC §10): session auth, role guards, controllers."""
