"""Implementations of the application ports (database, files, providers); no HTTP here."""
