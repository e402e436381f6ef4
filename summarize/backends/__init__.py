"""Backends: the only code that imports openai, instructor or llama_cpp.

`open_backend` picks one from `Settings`: the embedded model in-process, or any
OpenAI-compatible endpoint. Both speak the openai protocol through instructor; the local one
just answers it in-process.
"""

from __future__ import annotations

from summarize.backends.base import Backend, BackendKind, Completion, ExtractionRequest
from summarize.backends.openai_compat import OpenAICompatibleBackend, Transport
from summarize.config import Settings

__all__ = [
    "Backend",
    "BackendKind",
    "Completion",
    "ExtractionRequest",
    "OpenAICompatibleBackend",
    "Transport",
    "open_backend",
]

_LOCAL_BASE_URL = "http://local.summarize.invalid/v1"  # never resolved: the transport answers


def open_backend(settings: Settings, *, transport: Transport | None = None) -> Backend:
    """The backend `settings` ask for. `transport` replaces the network (tests, custom HTTP)."""
    if not settings.is_local:
        return OpenAICompatibleBackend(settings, transport=transport)
    if transport is None:
        from summarize.backends.local import LlamaTransport

        transport = LlamaTransport(
            settings.local_model_path, n_ctx=settings.n_ctx, n_threads=settings.n_threads
        )
    local = settings.replace(model=settings.model_name, base_url=_LOCAL_BASE_URL, api_key="local")
    return OpenAICompatibleBackend(
        local,
        transport=transport,
        kind="local",
        extra_body={"repeat_penalty": settings.repeat_penalty},
    )
