"""Which image providers this process can call: built from the settings, once per process."""

from __future__ import annotations

from collections.abc import Callable

from adapters.clock import SystemClock
from adapters.metrics.prometheus import PrometheusMetrics
from adapters.providers.gemini import GeminiProvider
from adapters.providers.local import LocalProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from adapters.providers.registry import StaticProviderRegistry
from adapters.providers.turbotext import TurbotextProvider
from application.ports import ProviderAdapter, ProviderInput
from entrypoints.config import Settings


def provider_registry(
    settings: Settings, clock: SystemClock, metrics: PrometheusMetrics
) -> StaticProviderRegistry:
    """``local`` always; Gemini, Turbotext and OpenAI once their API keys are configured. Each
    HTTP connection pool is as large as the provider's concurrency setting, so the pool never
    caps the calls the setting allows (``ProviderLimits`` holds the rest back)."""
    adapters: dict[str, ProviderAdapter] = {"local": LocalProvider(clock)}
    if settings.gemini_api_key:
        adapters["gemini"] = GeminiProvider(
            base_url=settings.gemini_base_url,
            api_key=settings.gemini_api_key,
            clock=clock,
            no_image_attempts=settings.gemini_no_image_attempts,
            on_no_image=_counted_on_the_job(metrics.no_image_reporter("gemini")),
            max_connections=settings.gemini_concurrency,
        )
    if settings.turbotext_api_key:
        adapters["turbotext"] = TurbotextProvider(
            base_url=settings.turbotext_base_url,
            api_key=settings.turbotext_api_key,
            clock=clock,
            poll_interval_seconds=settings.turbotext_poll_interval_sec,
            max_result_bytes=settings.provider_result_max_bytes,
            max_connections=settings.turbotext_concurrency,
        )
    if settings.openai_api_key:
        adapters["openai"] = OpenAIImagesProvider(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            clock=clock,
            max_result_bytes=settings.provider_result_max_bytes,
            max_connections=settings.openai_concurrency,
        )
    return StaticProviderRegistry(adapters)


def _counted_on_the_job(
    report: Callable[[ProviderInput], None],
) -> Callable[[ProviderInput], None]:
    """An answer without an image is counted for ``/metrics`` and on the job itself (its
    ``no_image_count``, which the operators' stats sum)."""

    def on_no_image(request: ProviderInput) -> None:
        report(request)
        request.no_image_seen()

    return on_no_image


def unconfigured_providers(settings: Settings) -> dict[str, str]:
    """What an operator must set before a slot may use each provider (checked on activation)."""
    missing: dict[str, str] = {}
    if not settings.gemini_api_key:
        missing["gemini"] = "set PHOTOCHANGER_GEMINI_API_KEY"
    if not settings.turbotext_api_key:
        missing["turbotext"] = "set PHOTOCHANGER_TURBOTEXT_API_KEY"
    if not settings.openai_api_key:
        missing["openai"] = "set PHOTOCHANGER_OPENAI_API_KEY"
    return missing
