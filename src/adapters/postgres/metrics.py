"""``PostgresJobStats``: the database side of the metrics (jobs by state, the queue).

Read from the ``job`` table in one statement, so every process (API or worker) that exposes
``/metrics`` reports the same values: they describe the shared queue, not this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from adapters.postgres.pool import Pool, fetch_all

# One pass over ``job``: unfinished jobs by working state, finished ones by how they ended.
# The oldest ``created_at`` of the ``pending`` group is the age of the queue's head.
JOB_STATS = """
SELECT CASE WHEN is_finalized THEN coalesce(failure_reason, 'succeeded') ELSE status END
           AS state,
       count(*) AS jobs,
       min(created_at) AS oldest_created_at
FROM job
GROUP BY 1
"""


@dataclass(frozen=True, slots=True)
class JobStats:
    """``by_state``: ``pending``, ``processing``, ``succeeded`` and each failure reason, for
    the states that have jobs. ``oldest_pending_at``: when the longest-waiting unclaimed job
    was created (None when nothing waits)."""

    by_state: dict[str, int] = field(default_factory=dict)
    oldest_pending_at: datetime | None = None

    @property
    def queue_depth(self) -> int:
        """Jobs waiting for a worker to claim them."""
        return self.by_state.get("pending", 0)


class PostgresJobStats:
    """Counts over the whole ``job`` table: a sequential scan, so callers cache the answer
    for a few seconds rather than asking on every scrape."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def load(self) -> JobStats:
        rows = await fetch_all(self._pool, JOB_STATS)
        by_state = {str(row["state"]): int(row["jobs"]) for row in rows}
        oldest = next((row["oldest_created_at"] for row in rows if row["state"] == "pending"), None)
        return JobStats(by_state=by_state, oldest_pending_at=oldest)
