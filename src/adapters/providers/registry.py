"""Choose the adapter by ``slot.provider``: swapping a provider is a setting, not code."""

from __future__ import annotations

from collections.abc import Mapping

from application.ports import ProviderAdapter
from domain.errors import ProviderFailed


class StaticProviderRegistry:
    """``ProviderRegistry`` over a fixed mapping built by the composition root."""

    def __init__(self, mapping: Mapping[str, ProviderAdapter]) -> None:
        self._adapters = dict(mapping)

    def get(self, provider: str) -> ProviderAdapter:
        try:
            return self._adapters[provider]
        except KeyError:
            raise ProviderFailed(
                f"provider {provider} is not configured", {"provider": provider}
            ) from None

    async def aclose(self) -> None:
        """Close the adapters' HTTP clients (at shutdown)."""
        for adapter in self._adapters.values():
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()

    def names(self) -> list[str]:
        """Configured providers, for health output and logs."""
        return sorted(self._adapters)
