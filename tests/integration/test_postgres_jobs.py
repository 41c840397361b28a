"""PostgresJobRepository against real PostgreSQL: queue, leases, one final state, cleanup."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import sql

from adapters.postgres.jobs import ADD_IF_CAPACITY, PostgresJobRepository
from adapters.postgres.pool import Pool
from adapters.postgres.rows import job_params
from domain.job import FailureReason, Job, JobResult, JobStatus, Payload

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DEADLINE = timedelta(seconds=48)
LEASE = timedelta(seconds=30)

OpenPool = Callable[..., Awaitable[Pool]]  # the ``open_pool`` fixture


def make_job(created_at: datetime = T0, *, with_payload: bool = True, **changes: Any) -> Job:
    job = Job(
        id=uuid4(),
        slot_id="slot-001",
        provider="local",
        operation="grayscale",
        settings={"delay_ms": 0, "nested": {"a": [1, 2]}},
        expires_at=created_at + DEADLINE,
        created_at=created_at,
        updated_at=created_at,
        metadata={"booth": "A", "frame": "7"},
        payload=Payload(
            path=f"payload/{uuid4().hex}.jpg",
            mime="image/jpeg",
            size_bytes=1234,
            sha256="ab" * 32,
            expires_at=created_at + timedelta(seconds=45),
        )
        if with_payload
        else None,
    )
    return replace(job, **changes)


def make_result(finalized_at: datetime, *, path: str | None = None) -> JobResult:
    return JobResult(
        file_path=path or f"results/{uuid4().hex}.png",
        mime="image/png",
        size_bytes=999,
        checksum="cd" * 32,
        expires_at=finalized_at + timedelta(hours=72),
    )


async def add_jobs(repo: PostgresJobRepository, *jobs: Job) -> None:
    for job in jobs:
        assert await repo.add_if_capacity(job, max_unfinished=1000)


async def test_get_returns_what_was_added(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    job = make_job(provider_job_reference=None)
    await add_jobs(repo, job)

    assert await repo.get(job.id) == job
    assert await repo.get(uuid4()) is None


async def test_datetimes_come_back_utc_whatever_the_session_time_zone(
    database_url: str, open_pool: OpenPool
) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET timezone = 'Asia/Tokyo'").format(
                sql.Identifier(str(dbname))
            )
        )
    repo = PostgresJobRepository(await open_pool())
    job = make_job()
    await add_jobs(repo, job)

    stored = await repo.get(job.id)
    assert stored is not None
    assert stored.created_at == T0 and stored.created_at.utcoffset() == timedelta(0)
    assert stored.expires_at.tzinfo is UTC


async def test_add_if_capacity_refuses_when_the_queue_is_full(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    first, second, third = make_job(), make_job(), make_job()

    assert await repo.add_if_capacity(first, max_unfinished=2)
    assert await repo.add_if_capacity(second, max_unfinished=2)
    assert not await repo.add_if_capacity(third, max_unfinished=2)
    assert await repo.get(third.id) is None
    assert await repo.count_unfinished() == 2

    assert await repo.finalize_failure(first.id, FailureReason.CANCELLED, now=T0)
    assert await repo.add_if_capacity(third, max_unfinished=2)  # finalized jobs free a place


async def test_concurrent_admissions_never_exceed_capacity(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    for round_ in range(1, 6):  # several rounds: a lost race shows up at least once
        outcomes = await asyncio.gather(
            *(repo.add_if_capacity(make_job(), max_unfinished=3 * round_) for _ in range(10))
        )
        assert outcomes.count(True) == 3
        assert await repo.count_unfinished() == 3 * round_


async def test_an_admission_waiting_on_another_counts_it_once_it_commits(
    database_url: str,
) -> None:
    """Deterministic form of the race: the first admission is held open inside its
    transaction; the second must wait for it and then count it (fresh snapshot after the
    lock), so with room for one job only the first gets in."""
    first, second = make_job(), make_job()
    async with (
        await psycopg.AsyncConnection.connect(database_url) as holder,
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as other,
    ):
        cur = await holder.execute(ADD_IF_CAPACITY, {**job_params(first), "max_unfinished": 1})
        assert cur.rowcount == 1  # admitted, not yet committed: the lock is held
        late = asyncio.create_task(
            other.execute(ADD_IF_CAPACITY, {**job_params(second), "max_unfinished": 1})
        )
        done, _ = await asyncio.wait({late}, timeout=0.3)
        assert not done, "the second admission must wait for the first to finish"
        await holder.commit()
        assert (await late).rowcount == 0


async def test_claim_next_takes_the_oldest_and_leases_it(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    newer, older = make_job(T0 + timedelta(seconds=1)), make_job(T0)
    await add_jobs(repo, newer, older)
    now = T0 + timedelta(seconds=2)

    claimed = await repo.claim_next(worker_id="w1", now=now, lease_until=now + LEASE)

    assert claimed is not None and claimed.id == older.id
    assert claimed.status is JobStatus.PROCESSING
    assert (claimed.lease_owner, claimed.lease_expires_at) == ("w1", now + LEASE)
    assert claimed.attempts == 1 and claimed.updated_at == now
    assert claimed == await repo.get(older.id)


async def test_concurrent_claimers_claim_each_job_exactly_once(open_pool: OpenPool) -> None:
    pools = [await open_pool(max_size=3) for _ in range(3)]
    await add_jobs(
        PostgresJobRepository(pools[0]),
        *(make_job(T0 + timedelta(milliseconds=i)) for i in range(30)),
    )
    now = T0 + timedelta(seconds=1)

    async def drain(repo: PostgresJobRepository, worker: str) -> list[UUID]:
        claimed: list[UUID] = []
        while True:
            batch = await asyncio.gather(
                *(
                    repo.claim_next(worker_id=worker, now=now, lease_until=now + LEASE)
                    for _ in range(3)
                )
            )
            got = [job.id for job in batch if job is not None]
            if not got:
                return claimed
            claimed.extend(got)

    results = await asyncio.gather(
        *(drain(PostgresJobRepository(p), f"w{i}") for i, p in enumerate(pools))
    )
    everything = [job_id for result in results for job_id in result]

    assert len(everything) == 30
    assert len(set(everything)) == 30
    assert (
        await PostgresJobRepository(pools[0]).claim_next(
            worker_id="late", now=now, lease_until=now + LEASE
        )
        is None
    )


async def test_only_a_lapsed_lease_can_be_reclaimed(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    job = make_job()
    await add_jobs(repo, job)
    await repo.claim_next(worker_id="w1", now=T0, lease_until=T0 + LEASE)

    before_lapse = T0 + LEASE - timedelta(seconds=1)
    assert (
        await repo.claim_next(worker_id="w2", now=before_lapse, lease_until=T0 + DEADLINE) is None
    )

    after_lapse = T0 + LEASE + timedelta(seconds=1)
    reclaimed = await repo.claim_next(worker_id="w2", now=after_lapse, lease_until=T0 + DEADLINE)
    assert reclaimed is not None and reclaimed.id == job.id
    assert reclaimed.lease_owner == "w2" and reclaimed.attempts == 2

    assert await repo.renew_leases([job.id], worker_id="w1", lease_until=T0 + DEADLINE) == set()
    assert await repo.renew_leases([job.id], worker_id="w2", lease_until=T0 + DEADLINE) == {job.id}


async def test_renew_leases_extends_every_lease_still_held_in_one_statement(pool: Pool) -> None:
    """The worker's heartbeat: one statement for all its jobs; the answer leaves out a job
    finalized elsewhere and one another worker re-claimed, so both calls are hung up on."""
    repo = PostgresJobRepository(pool)
    taken_over = make_job(T0 - timedelta(seconds=1))  # the oldest: the one w2 claims
    held = [make_job(T0 + timedelta(milliseconds=n)) for n in range(3)]
    cancelled = make_job(T0 + timedelta(seconds=1))
    await add_jobs(repo, *held, cancelled, taken_over)
    for _ in range(5):
        assert await repo.claim_next(worker_id="w1", now=T0, lease_until=T0 + LEASE)
    await repo.finalize_failure(cancelled.id, FailureReason.CANCELLED, now=T0)
    lapsed = T0 + LEASE + timedelta(seconds=1)
    reclaimed = await repo.claim_next(worker_id="w2", now=lapsed, lease_until=lapsed + LEASE)
    assert reclaimed is not None and reclaimed.id == taken_over.id

    # w1 stalled past its lease: only the jobs nobody else took are still its own.
    until = lapsed + LEASE
    asked = [job.id for job in (*held, cancelled, taken_over)]
    kept = await repo.renew_leases(asked, worker_id="w1", lease_until=until)

    assert kept == {job.id for job in held}
    for job in held:
        row = await repo.get(job.id)
        assert row is not None and (row.lease_owner, row.lease_expires_at) == ("w1", until)
    other = await repo.get(taken_over.id)
    assert other is not None and other.lease_owner == "w2"
    assert other.lease_expires_at == lapsed + LEASE, "another worker's lease is left alone"
    assert await repo.renew_leases([], worker_id="w1", lease_until=until) == set()


async def test_an_expired_job_is_not_claimable(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    await add_jobs(repo, make_job())
    at_deadline = T0 + DEADLINE

    assert await repo.claim_next(worker_id="w", now=at_deadline, lease_until=at_deadline) is None


async def test_release_returns_the_job_to_the_queue_only_for_its_owner(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    job = make_job()
    await add_jobs(repo, job)
    await repo.claim_next(worker_id="w1", now=T0, lease_until=T0 + LEASE)

    await repo.release(job.id, worker_id="someone-else")
    still = await repo.get(job.id)
    assert still is not None and still.lease_owner == "w1"

    await repo.release(job.id, worker_id="w1")
    released = await repo.get(job.id)
    assert released is not None
    assert (released.status, released.lease_owner, released.lease_expires_at) == (
        JobStatus.PENDING,
        None,
        None,
    )
    again = await repo.claim_next(worker_id="w2", now=T0, lease_until=T0 + LEASE)
    assert again is not None and again.id == job.id


async def test_finalize_success_records_the_result_once(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    job = make_job()
    await add_jobs(repo, job)
    await repo.claim_next(worker_id="w", now=T0, lease_until=T0 + LEASE)
    done_at = T0 + timedelta(seconds=5)
    result = make_result(done_at)

    assert await repo.finalize_success(job.id, result, now=done_at)
    assert not await repo.finalize_success(job.id, result, now=done_at)
    assert not await repo.finalize_failure(job.id, FailureReason.TIMEOUT, now=done_at)

    stored = await repo.get(job.id)
    assert stored is not None and stored.succeeded
    assert (stored.result, stored.finalized_at) == (result, done_at)
    assert (stored.lease_owner, stored.lease_expires_at) == (None, None)
    assert await repo.renew_leases([job.id], worker_id="w", lease_until=T0 + LEASE) == set()


async def test_success_and_failure_racing_record_exactly_one_final_state(
    open_pool: OpenPool,
) -> None:
    first, second = await open_pool(), await open_pool()
    worker, api = PostgresJobRepository(first), PostgresJobRepository(second)
    jobs = [make_job() for _ in range(20)]
    await add_jobs(worker, *jobs)
    now = T0 + timedelta(seconds=10)

    for job in jobs:
        success, timeout = await asyncio.gather(
            worker.finalize_success(job.id, make_result(now), now=now),
            api.finalize_failure(job.id, FailureReason.TIMEOUT, now=now),
        )
        assert success != timeout
        stored = await api.get(job.id)
        assert stored is not None and stored.is_finalized
        if success:
            assert stored.failure_reason is None and stored.result is not None
        else:
            assert stored.failure_reason is FailureReason.TIMEOUT and stored.result is None


async def test_finalized_among_answers_in_one_call(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    done, active = make_job(), make_job()
    await add_jobs(repo, done, active)
    await repo.finalize_failure(done.id, FailureReason.PROVIDER_ERROR, now=T0)

    assert await repo.finalized_among([done.id, active.id, uuid4()]) == [done.id]
    assert await repo.finalized_among([]) == []


async def test_finalized_among_reuses_the_encoding_of_an_unchanged_tuple_only(pool: Pool) -> None:
    """The poller passes the same tuple while its waiters do not change; a new tuple (or a
    list, which may change in place) is encoded afresh, so the answer is never stale."""
    repo = PostgresJobRepository(pool)
    first, second = make_job(), make_job()
    await add_jobs(repo, first, second)
    asking = (first.id,)
    assert await repo.finalized_among(asking) == []
    await repo.finalize_failure(first.id, FailureReason.CANCELLED, now=T0)
    await repo.finalize_failure(second.id, FailureReason.CANCELLED, now=T0)
    for _ in range(6):  # past psycopg's prepare threshold: the prepared statement answers too
        assert await repo.finalized_among(asking) == [first.id]
    assert await repo.finalized_among((second.id,)) == [second.id]
    ids = [first.id]
    assert await repo.finalized_among(ids) == [first.id]
    ids[0] = second.id
    assert await repo.finalized_among(ids) == [second.id]


async def test_finalize_expired_times_out_only_jobs_past_their_deadline(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    late = make_job(T0)
    on_time = make_job(T0 + timedelta(seconds=30))
    already_done = make_job(T0)
    await add_jobs(repo, late, on_time, already_done)
    await repo.finalize_failure(already_done.id, FailureReason.CANCELLED, now=T0)
    await repo.claim_next(worker_id="w", now=T0, lease_until=T0 + LEASE)
    now = T0 + DEADLINE

    expired = await repo.finalize_expired(now=now, limit=10)

    assert [job.id for job in expired] == [late.id]
    assert expired[0].failure_reason is FailureReason.TIMEOUT
    assert expired[0].finalized_at == now and expired[0].lease_owner is None
    assert await repo.finalize_expired(now=now, limit=10) == []
    untouched = await repo.get(on_time.id)
    assert untouched is not None and not untouched.is_finalized
    cancelled = await repo.get(already_done.id)
    assert cancelled is not None and cancelled.failure_reason is FailureReason.CANCELLED


async def test_finalize_expired_respects_the_limit(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    await add_jobs(repo, *(make_job() for _ in range(5)))
    now = T0 + DEADLINE

    assert len(await repo.finalize_expired(now=now, limit=2)) == 2
    assert len(await repo.finalize_expired(now=now, limit=10)) == 3
    assert await repo.count_unfinished() == 0


async def test_payloads_to_purge_are_expired_or_belong_to_finalized_jobs(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    fresh = make_job(T0 + timedelta(seconds=30))
    stale = make_job(T0)
    finished = make_job(T0 + timedelta(seconds=30))
    no_payload = make_job(T0, with_payload=False)
    await add_jobs(repo, fresh, stale, finished, no_payload)
    await repo.finalize_failure(finished.id, FailureReason.PROVIDER_ERROR, now=T0)
    now = T0 + timedelta(seconds=45)  # stale's payload expiry, fresh's is later

    due = await repo.payloads_to_purge(now=now, limit=10)
    assert {job.id for job in due} == {stale.id, finished.id}
    assert len(await repo.payloads_to_purge(now=now, limit=1)) == 1

    await repo.clear_payload(stale.id)
    assert {job.id for job in await repo.payloads_to_purge(now=now, limit=10)} == {finished.id}
    cleared = await repo.get(stale.id)
    assert cleared is not None and cleared.payload is None


async def test_results_to_purge_keep_metadata_after_the_file_is_gone(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    job = make_job()
    await add_jobs(repo, job)
    result = make_result(T0)
    await repo.finalize_success(job.id, result, now=T0)

    assert await repo.results_to_purge(now=result.expires_at - timedelta(seconds=1), limit=10) == []
    due = await repo.results_to_purge(now=result.expires_at, limit=10)
    assert [j.id for j in due] == [job.id]

    await repo.clear_result_file(job.id)
    assert await repo.results_to_purge(now=result.expires_at, limit=10) == []
    stored = await repo.get(job.id)
    assert stored is not None and stored.result == replace(result, file_path=None)


async def test_referenced_paths_cover_payloads_and_results(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    job = make_job()
    await add_jobs(repo, job)
    result = make_result(T0)
    await repo.finalize_success(job.id, result, now=T0)
    assert job.payload is not None and result.file_path is not None

    asked = [job.payload.path, result.file_path, "results/orphan.png"]
    assert await repo.referenced_paths(asked) == {job.payload.path, result.file_path}
    assert await repo.referenced_paths([]) == set()


async def test_provider_reference_is_stored(pool: Pool) -> None:
    repo = PostgresJobRepository(pool)
    job = make_job()
    await add_jobs(repo, job)

    await repo.set_provider_reference(job.id, "queue-42")

    stored = await repo.get(job.id)
    assert stored is not None and stored.provider_job_reference == "queue-42"
