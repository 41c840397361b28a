"""PostgreSQL adapters: pool, migrations and one repository module per table."""
