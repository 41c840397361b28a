"""``PrometheusMetrics``: the families of SPEC §11 on a registry of this process's own.

Each process (API, worker, purge) counts what it does itself and exposes it; Prometheus adds
the processes up. The exception is ``serve --processes N``, whose processes share one port: there
the parent sets ``PROMETHEUS_MULTIPROC_DIR`` (``adapters.metrics.multiprocess``), the client
library keeps every value in a file per process, and a scrape answers their sum, whichever
process it reaches. Label values come only from closed sets: a slot id the booth sent (the path
is attacker-controlled) is ``other`` unless it is one of the 15 slots, so nobody can grow the
number of series by inventing paths.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from adapters.metrics.multiprocess import shared_counters_dir
from adapters.metrics.shared_state import SharedStateGauges
from application.ports import ProviderCallOutcome, ProviderInput
from domain.providers import PROVIDERS
from domain.slot import is_slot_id

OTHER = "other"
HASH_PROBLEMS = ("mismatch", "unknown_scheme")
# From a refused photo (~50 ms) to the longest deadline (60 s) and a little past it.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 50, 55, 60, 75)


def slot_label(slot_id: str | None) -> str:
    """The slot id itself for the 15 slots, ``other`` for anything else."""
    return slot_id if isinstance(slot_id, str) and is_slot_id(slot_id) else OTHER


def provider_label(provider: str) -> str:
    return provider if provider in PROVIDERS else OTHER


class PrometheusMetrics:
    """Records ingests, provider calls, purge removals and declared-hash problems; implements
    ``ProviderCallObserver``. Recording never raises and never does
    I/O; ``exposition`` refreshes the cached shared-state gauges first.

    ``counters_dir``: where the processes sharing a port keep their values (read from
    ``PROMETHEUS_MULTIPROC_DIR`` by default, as the client library itself does when it
    decides where values live). A scrape then adds up every file there with
    ``MultiProcessCollector`` and the shared-state gauges once, computed by the answering
    process; per-process ``process_*``/``python_*`` metrics are left out, as they would
    describe whichever process happened to answer."""

    def __init__(
        self, shared_state: SharedStateGauges | None = None, *, counters_dir: str | None = None
    ) -> None:
        # No ``*_created`` series: they would double the series count for nothing.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self._shared_state = shared_state
        reg = self.registry
        self._ingests = Counter(
            "photochanger_ingest_requests",
            "Ingest requests answered, by slot (other = not one of the 15) and HTTP status.",
            ["slot", "code"],
            registry=reg,
        )
        self._ingest_seconds = Histogram(
            "photochanger_ingest_duration_seconds",
            "Ingest request start to the end of its answer, whatever the status.",
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self._provider_calls = Counter(
            "photochanger_provider_calls",
            "Provider calls by outcome: ok, error, timeout, cancelled once per job's call; "
            "no_image once per answer without an image (each retried attempt).",
            ["provider", "slot", "outcome"],
            registry=reg,
        )
        self._provider_seconds = Histogram(
            "photochanger_provider_call_duration_seconds",
            "Duration of a job's provider call (all its attempts), whatever the outcome.",
            ["provider"],
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self._purged = Counter(
            "photochanger_purge_removed",
            "What cleanup rounds of this process removed or closed, by kind.",
            ["kind"],
            registry=reg,
        )
        self._hash_problems = Counter(
            "photochanger_ingest_hash_mismatch",
            "Uploads whose declared hash did not match (mismatch) or had an unknown scheme.",
            ["problem"],
            registry=reg,
        )
        for problem in HASH_PROBLEMS:
            self._hash_problems.labels(problem)
        if shared_state is not None:
            reg.register(shared_state)
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
        GCCollector(registry=reg)
        self.scrape_registry: Collector = reg
        counters_dir = counters_dir or shared_counters_dir()
        if counters_dir is not None:
            every_process = CollectorRegistry()
            MultiProcessCollector(every_process, path=counters_dir)  # type: ignore[no-untyped-call]
            if shared_state is not None:
                every_process.register(shared_state)
            self.scrape_registry = every_process

    def ingest_request(self, slot_id: str | None, status: int, seconds: float) -> None:
        self._ingests.labels(slot_label(slot_id), str(status)).inc()
        self._ingest_seconds.observe(max(seconds, 0.0))

    def provider_call(
        self,
        provider: str,
        outcome: ProviderCallOutcome,
        seconds: float | None = None,
        *,
        slot_id: str | None = None,
    ) -> None:
        name = provider_label(provider)
        self._provider_calls.labels(name, slot_label(slot_id), outcome).inc()
        if seconds is not None:
            self._provider_seconds.labels(name).observe(max(seconds, 0.0))

    def no_image_reporter(self, provider: str) -> Callable[[ProviderInput], None]:
        """The callback a provider adapter calls for each answer that came without an image."""

        def report(request: ProviderInput) -> None:
            self.provider_call(provider, "no_image", slot_id=request.slot_id)

        return report

    def purge_removed(self, kind: str, count: int) -> None:
        """``count`` may be 0: the series then exists from the first round on."""
        self._purged.labels(kind).inc(max(count, 0))

    def declared_hash_unverified(self, problem: str) -> None:
        """The booth's declared ``hash`` did not match the upload (``mismatch``) or its
        scheme is unknown (``unknown_scheme``): SubmitIngest's ``on_hash_mismatch`` hook."""
        label = str(problem)
        self._hash_problems.labels(label if label in HASH_PROBLEMS else OTHER).inc()

    async def refresh(self) -> None:
        """Reload the shared-state gauges older than their time-to-live (before a scrape)."""
        if self._shared_state is not None:
            await self._shared_state.refresh()

    async def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The scrape body and its content type (OpenMetrics if the scraper asks for it)."""
        await self.refresh()
        encode, content_type = choose_encoder(accept)
        return encode(self.scrape_registry), content_type
