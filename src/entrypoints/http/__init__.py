"""The Litestar HTTP app: controllers, msgspec schemas and the one error mapping."""
