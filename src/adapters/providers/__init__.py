"""Provider adapters (one module each) and the registry that picks one by ``slot.provider``."""

from adapters.providers.local import LocalProvider
from adapters.providers.registry import StaticProviderRegistry

__all__ = ["LocalProvider", "StaticProviderRegistry"]
