"""``PostgresTemplateRepository``: permanent template images referenced from slot settings."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from adapters.postgres.pool import Pool, execute, fetch_all, fetch_one
from adapters.postgres.rows import template_from_row
from domain.media import TemplateMedia

ADD = """
INSERT INTO template_media (id, path, mime, size_bytes, checksum, label, uploaded_by, created_at)
VALUES (%(id)s, %(path)s, %(mime)s, %(size_bytes)s, %(checksum)s, %(label)s, %(uploaded_by)s,
        %(created_at)s)
"""

GET = "SELECT * FROM template_media WHERE id = %(id)s"

LIST = "SELECT * FROM template_media ORDER BY created_at, id"

REMOVE = "DELETE FROM template_media WHERE id = %(id)s RETURNING id"


class PostgresTemplateRepository:
    """Implements ``application.ports.TemplateRepository``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def add(self, template: TemplateMedia) -> None:
        params = {
            "id": template.id,
            "path": template.path,
            "mime": template.mime,
            "size_bytes": template.size_bytes,
            "checksum": template.checksum,
            "label": template.label,
            "uploaded_by": template.uploaded_by,
            "created_at": template.created_at,
        }
        await execute(self._pool, ADD, params)

    async def get(self, template_id: UUID) -> TemplateMedia | None:
        row = await fetch_one(self._pool, GET, {"id": template_id})
        return None if row is None else template_from_row(row)

    async def list(self) -> list[TemplateMedia]:
        rows = await fetch_all(self._pool, LIST)
        return [template_from_row(row) for row in rows]

    async def remove(self, template_id: UUID) -> bool:
        """True if a row was deleted; the file is the caller's to remove."""
        return await fetch_one(self._pool, REMOVE, {"id": template_id}) is not None


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.ports import TemplateRepository

    _port: type[TemplateRepository] = PostgresTemplateRepository
