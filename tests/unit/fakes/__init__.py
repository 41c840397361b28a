"""In-memory fakes of the application ports (cosmicpython style) and a virtual clock.

Each fake is a small working implementation that keeps the promise its port's docstring
makes (conditional finalization, claimability rules, capacity, size caps, MIME sniffing), so
tests can assert on resulting state instead of on calls. Every repository method suspends
once, like a database round trip, so concurrent use cases really interleave.

Time is virtual: ``FakeClock.sleep`` and ``wait_for_event`` park on timers that only fire when
a test calls ``advance``; nothing here waits on real time.

One module per port (``jobs``, ``slots``, ``settings``, ``media``, ``storage``, ``providers``,
``metrics``, ``signals``, ``passwords``), plus ``clock`` (virtual time), ``images`` (sample
bytes) and ``scenario`` (what the ingest and worker tests share); every name is re-exported
here, so tests keep writing ``from fakes import …``.
"""

from fakes.clock import START, FakeClock, finished, settle
from fakes.images import GIF, JPEG, PNG, RESULT_PNG
from fakes.jobs import InMemoryJobRepository, new_job
from fakes.media import InMemoryMediaObjectRepository, InMemoryTemplateRepository
from fakes.metrics import ProviderCallRecord, RecordingMetrics
from fakes.passwords import PlainPasswordHasher
from fakes.providers import FakeProvider, FakeProviderRegistry
from fakes.scenario import (
    LEASE,
    PASSWORD,
    POKE_PAUSE_SECONDS,
    PURGE_POLICY,
    TICK_SECONDS,
    QueueAndClaim,
    QueueJob,
    ScriptedWorker,
    SubmitIngestFactory,
    ingest_command,
)
from fakes.settings import InMemorySettingsRepository
from fakes.signals import CountingSignal
from fakes.slots import InMemorySlotRepository, make_slot
from fakes.storage import (
    Blob,
    FullMediaStorage,
    InMemoryMediaStorage,
    chunks_of,
    repeated,
    sniff_mime,
)

__all__ = [
    "GIF",
    "JPEG",
    "LEASE",
    "PASSWORD",
    "PNG",
    "POKE_PAUSE_SECONDS",
    "PURGE_POLICY",
    "RESULT_PNG",
    "START",
    "TICK_SECONDS",
    "Blob",
    "CountingSignal",
    "FakeClock",
    "FakeProvider",
    "FakeProviderRegistry",
    "FullMediaStorage",
    "InMemoryJobRepository",
    "InMemoryMediaObjectRepository",
    "InMemoryMediaStorage",
    "InMemorySettingsRepository",
    "InMemorySlotRepository",
    "InMemoryTemplateRepository",
    "PlainPasswordHasher",
    "ProviderCallRecord",
    "QueueAndClaim",
    "QueueJob",
    "RecordingMetrics",
    "ScriptedWorker",
    "SubmitIngestFactory",
    "chunks_of",
    "finished",
    "ingest_command",
    "make_slot",
    "new_job",
    "repeated",
    "settle",
    "sniff_mime",
]
