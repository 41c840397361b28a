"""SPEC §2 Job: the state machine and the one-final-state rule."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import JobAlreadyFinalized, PhotoChangerError
from domain.job import FailureReason, Job, JobResult, JobStatus, Payload

T0 = datetime(2026, 11, 3, 12, 0, 0, tzinfo=UTC)
JOB_ID = UUID("12345678-1234-5678-1234-567812345678")


def make_job(**overrides: object) -> Job:
    fields: dict[str, object] = {
        "id": JOB_ID,
        "slot_id": "slot-001",
        "provider": "gemini",
        "operation": "image_edit",
        "settings": {"prompt": "watercolour"},
        "expires_at": T0 + timedelta(seconds=48),
        "created_at": T0,
        "updated_at": T0,
        "payload": Payload(
            path="payload/x.jpg",
            mime="image/jpeg",
            size_bytes=1234,
            sha256="ab" * 32,
            expires_at=T0 + timedelta(seconds=48),
        ),
        "metadata": {"booth": "7"},
    }
    fields.update(overrides)
    return Job(**fields)  # type: ignore[arg-type]


def make_result() -> JobResult:
    return JobResult(
        file_path="results/x.png",
        mime="image/png",
        size_bytes=4321,
        checksum="cd" * 32,
        expires_at=T0 + timedelta(hours=72),
    )


def claim(job: Job, *, worker: str = "worker-a", at: float = 1.0) -> Job:
    now = T0 + timedelta(seconds=at)
    return job.start_processing(worker_id=worker, lease_until=now + timedelta(seconds=30), now=now)


# --- enums -------------------------------------------------------------------------------------


def test_job_status_values() -> None:
    assert {s.value for s in JobStatus} == {"pending", "processing"}
    assert str(JobStatus.PENDING) == "pending"
    assert str(JobStatus.PROCESSING) == "processing"


def test_failure_reason_values() -> None:
    assert {r.value for r in FailureReason} == {
        "timeout",
        "provider_error",
        "cancelled",
        "storage_error",
    }
    assert FailureReason("timeout") is FailureReason.TIMEOUT
    assert FailureReason("provider_error") is FailureReason.PROVIDER_ERROR
    assert FailureReason("cancelled") is FailureReason.CANCELLED
    assert FailureReason("storage_error") is FailureReason.STORAGE_ERROR


# --- a new job ---------------------------------------------------------------------------------


def test_new_job_is_pending_and_active() -> None:
    job = make_job()
    assert job.status is JobStatus.PENDING
    assert not job.is_finalized
    assert job.failure_reason is None
    assert job.finalized_at is None
    assert not job.succeeded
    assert job.result is None
    assert job.provider_job_reference is None
    assert job.lease_owner is None
    assert job.lease_expires_at is None
    assert job.attempts == 0


def test_job_is_immutable() -> None:
    job = make_job()
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = JobStatus.PROCESSING  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.expires_at = T0  # type: ignore[misc]


def test_default_metadata_is_not_shared_between_jobs() -> None:
    def bare() -> Job:
        return Job(
            id=uuid4(),
            slot_id="slot-001",
            provider="local",
            operation="grayscale",
            settings={},
            expires_at=T0,
            created_at=T0,
            updated_at=T0,
        )

    first, second = bare(), bare()
    assert first.metadata == {} == second.metadata
    assert first.metadata is not second.metadata


# --- pending → processing ----------------------------------------------------------------------


def test_start_processing_moves_pending_to_processing_with_a_lease() -> None:
    job = make_job()
    now = T0 + timedelta(seconds=1)
    lease_until = now + timedelta(seconds=30)
    claimed = job.start_processing(worker_id="worker-a", lease_until=lease_until, now=now)
    assert claimed.status is JobStatus.PROCESSING
    assert claimed.lease_owner == "worker-a"
    assert claimed.lease_expires_at == lease_until
    assert claimed.attempts == 1
    assert claimed.updated_at == now
    assert not claimed.is_finalized
    assert claimed.failure_reason is None
    assert claimed.finalized_at is None


def test_start_processing_returns_a_new_job_and_leaves_the_original() -> None:
    job = make_job()
    claimed = claim(job)
    assert claimed is not job
    assert job.status is JobStatus.PENDING
    assert job.attempts == 0
    assert job.lease_owner is None
    assert job.updated_at == T0


def test_start_processing_keeps_the_snapshot_and_deadline() -> None:
    job = make_job()
    claimed = claim(job)
    for name in (
        "id",
        "slot_id",
        "provider",
        "operation",
        "settings",
        "expires_at",
        "created_at",
        "payload",
        "metadata",
    ):
        assert getattr(claimed, name) == getattr(job, name), name


def test_reclaiming_a_processing_job_takes_the_lease_and_counts_the_attempt() -> None:
    first = claim(make_job(), worker="worker-a", at=1.0)
    second = claim(first, worker="worker-b", at=40.0)
    assert second.status is JobStatus.PROCESSING
    assert second.lease_owner == "worker-b"
    assert second.lease_expires_at == T0 + timedelta(seconds=70)
    assert second.attempts == 2
    assert second.updated_at == T0 + timedelta(seconds=40)


def test_attempts_count_every_claim() -> None:
    job = make_job()
    for n in range(1, 6):
        job = claim(job, at=float(n))
        assert job.attempts == n


# --- finalize success --------------------------------------------------------------------------


def test_finalize_success_records_the_result_and_clears_the_lease() -> None:
    claimed = claim(make_job())
    now = T0 + timedelta(seconds=12)
    result = make_result()
    done = claimed.finalize_success(result, now=now)
    assert done.is_finalized
    assert done.failure_reason is None
    assert done.succeeded
    assert done.finalized_at == now
    assert done.updated_at == now
    assert done.result == result
    assert done.lease_owner is None
    assert done.lease_expires_at is None
    assert done.attempts == 1
    assert done.expires_at == claimed.expires_at
    assert done.created_at == T0
    # the job that was passed in is untouched
    assert not claimed.is_finalized
    assert claimed.lease_owner == "worker-a"


# --- finalize failure --------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(FailureReason))
def test_finalize_failure_from_processing(reason: FailureReason) -> None:
    claimed = claim(make_job())
    now = T0 + timedelta(seconds=48)
    done = claimed.finalize_failure(reason, now=now)
    assert done.is_finalized
    assert done.failure_reason is reason
    assert not done.succeeded
    assert done.finalized_at == now
    assert done.updated_at == now
    assert done.result is None
    assert done.lease_owner is None
    assert done.lease_expires_at is None
    assert done.attempts == 1
    assert done.expires_at == claimed.expires_at


@pytest.mark.parametrize("reason", [FailureReason.TIMEOUT, FailureReason.CANCELLED])
def test_finalize_failure_from_pending(reason: FailureReason) -> None:
    job = make_job()
    now = T0 + timedelta(seconds=48)
    done = job.finalize_failure(reason, now=now)
    assert done.is_finalized
    assert done.failure_reason is reason
    assert done.finalized_at == now
    assert done.attempts == 0
    assert not done.succeeded
    assert not job.is_finalized


# --- a finalized job never changes again -------------------------------------------------------


def _finalized_success() -> Job:
    return claim(make_job()).finalize_success(make_result(), now=T0 + timedelta(seconds=5))


def _finalized(reason: FailureReason) -> Callable[[], Job]:
    def build() -> Job:
        return claim(make_job()).finalize_failure(reason, now=T0 + timedelta(seconds=48))

    return build


FINALIZED_JOBS = [
    pytest.param(_finalized_success, id="success"),
    *(pytest.param(_finalized(r), id=r.value) for r in FailureReason),
    pytest.param(
        lambda: make_job().finalize_failure(FailureReason.CANCELLED, now=T0), id="cancelled-pending"
    ),
]


def _failure(reason: FailureReason) -> Callable[[Job], Job]:
    return lambda job: job.finalize_failure(reason, now=T0)


TRANSITIONS: list[tuple[str, Callable[[Job], Job]]] = [
    ("start_processing", lambda j: j.start_processing(worker_id="z", lease_until=T0, now=T0)),
    ("finalize_success", lambda j: j.finalize_success(make_result(), now=T0)),
    *((f"finalize_failure-{r.value}", _failure(r)) for r in FailureReason),
]


@pytest.mark.parametrize("build", FINALIZED_JOBS)
@pytest.mark.parametrize(("name", "transition"), TRANSITIONS, ids=[n for n, _ in TRANSITIONS])
def test_finalized_job_refuses_every_transition(
    build: Callable[[], Job], name: str, transition: Callable[[Job], Job]
) -> None:
    job = build()
    before = dataclasses.asdict(job)
    with pytest.raises(JobAlreadyFinalized) as caught:
        transition(job)
    assert str(JOB_ID) in caught.value.message
    assert caught.value.code == "job_finalized"
    assert isinstance(caught.value, PhotoChangerError)
    assert dataclasses.asdict(job) == before


def test_success_cannot_be_overwritten_by_a_late_timeout() -> None:
    done = _finalized_success()
    with pytest.raises(JobAlreadyFinalized):
        done.finalize_failure(FailureReason.TIMEOUT, now=T0 + timedelta(seconds=48))
    assert done.succeeded
    assert done.failure_reason is None


def test_timeout_cannot_be_overwritten_by_a_late_result() -> None:
    timed_out = _finalized(FailureReason.TIMEOUT)()
    with pytest.raises(JobAlreadyFinalized):
        timed_out.finalize_success(make_result(), now=T0 + timedelta(seconds=50))
    assert timed_out.failure_reason is FailureReason.TIMEOUT
    assert timed_out.result is None


# --- succeeded ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_finalized", "reason", "expected"),
    [
        (False, None, False),
        (True, None, True),
        (True, FailureReason.TIMEOUT, False),
        (True, FailureReason.PROVIDER_ERROR, False),
        (True, FailureReason.CANCELLED, False),
    ],
)
def test_succeeded_means_finalized_without_failure(
    is_finalized: bool, reason: FailureReason | None, expected: bool
) -> None:
    assert make_job(is_finalized=is_finalized, failure_reason=reason).succeeded is expected


# --- any sequence of transitions ---------------------------------------------------------------

_OPS = ["claim", "success", *(r.value for r in FailureReason)]


@given(ops=st.lists(st.sampled_from(_OPS), max_size=12))
def test_any_transition_sequence_reaches_at_most_one_final_state(ops: list[str]) -> None:
    job = make_job()
    claims = 0
    final: Job | None = None
    for step, op in enumerate(ops, start=1):
        now = T0 + timedelta(seconds=step)
        try:
            if op == "claim":
                job = job.start_processing(worker_id=f"w{step}", lease_until=now, now=now)
                claims += 1
            elif op == "success":
                job = job.finalize_success(make_result(), now=now)
            else:
                job = job.finalize_failure(FailureReason(op), now=now)
        except JobAlreadyFinalized:
            assert final is not None
            assert job == final
            continue
        assert final is None, "a finalized job accepted another transition"
        if job.is_finalized:
            final = job
            assert job.finalized_at == now
            assert job.lease_owner is None and job.lease_expires_at is None
            assert job.succeeded is (op == "success")
    assert job.attempts == claims
    assert job.expires_at == T0 + timedelta(seconds=48)
    if final is None:
        assert not job.is_finalized and job.finalized_at is None
    else:
        assert job == final
