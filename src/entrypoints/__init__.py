"""Entrypoints: the HTTP app, the worker, the purge loop and the CLI, wired in one container."""
