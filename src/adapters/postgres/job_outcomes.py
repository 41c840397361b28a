"""Which ``job`` rows are in which state, said once in SQL: the job list filters by these
conditions, and the slots' "today" and the stats count the final outcomes with them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, LiteralString

from application.query_ports import JobState, OutcomeCounts

STATE_CONDITIONS: dict[JobState, LiteralString] = {
    JobState.PENDING: "NOT is_finalized AND status = 'pending'",
    JobState.PROCESSING: "NOT is_finalized AND status = 'processing'",
    JobState.SUCCEEDED: "is_finalized AND failure_reason IS NULL",
    JobState.TIMEOUT: "failure_reason = 'timeout'",
    JobState.PROVIDER_ERROR: "failure_reason = 'provider_error'",
    JobState.CANCELLED: "failure_reason = 'cancelled'",
    JobState.STORAGE_ERROR: "failure_reason = 'storage_error'",
}

_OUTCOMES = (
    JobState.SUCCEEDED,
    JobState.TIMEOUT,
    JobState.PROVIDER_ERROR,
    JobState.CANCELLED,
    JobState.STORAGE_ERROR,
)

# Select-list columns, one per final outcome, named like ``OutcomeCounts``' fields.
OUTCOME_COUNTS = ",\n".join(
    f"count(*) FILTER (WHERE {STATE_CONDITIONS[state]}) AS {state.value}" for state in _OUTCOMES
)


def outcome_counts(row: Mapping[str, Any]) -> OutcomeCounts:
    """The ``OUTCOME_COUNTS`` columns of a row."""
    return OutcomeCounts(
        succeeded=row["succeeded"],
        timeout=row["timeout"],
        provider_error=row["provider_error"],
        cancelled=row["cancelled"],
        storage_error=row["storage_error"],
    )
