"""``PostgresNoImageLog``: a job's count of provider answers without an image."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from adapters.postgres.pool import Pool, execute

# An increment, not a set: a job re-claimed after a crash adds its own attempts' answers.
ADD = "UPDATE job SET no_image_count = no_image_count + %(answers)s WHERE id = %(id)s"


class PostgresNoImageLog:
    """Implements ``application.ports.NoImageLog``."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def add(self, job_id: UUID, answers: int) -> None:
        await execute(self._pool, ADD, {"id": job_id, "answers": answers})


if TYPE_CHECKING:  # mypy proves the adapter satisfies its port
    from application.ports import NoImageLog

    _port: type[NoImageLog] = PostgresNoImageLog
