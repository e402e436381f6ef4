"""Backends: the only code that imports openai, instructor or llama_cpp.

The pipeline stacks them, with the retry layer in between::

    StructuredBackend (instructor's re-ask loop)
      → RetryingSender (summarize.retry: transient failures, deadline, request budget)
        → OpenAISender (one HTTP request through the openai SDK; `open_sender`)
          → the network, or the embedded model in-process (LlamaTransport)

Both the embedded model and any OpenAI-compatible endpoint speak the openai protocol through
instructor; the local one just answers it in-process.
"""

from __future__ import annotations

from summarize.backends.base import (
    Backend,
    BackendKind,
    ChatBody,
    Completion,
    ExtractionRequest,
    Sender,
)
from summarize.backends.http import OpenAISender, Transport
from summarize.backends.structured import StructuredBackend
from summarize.config import Settings

__all__ = [
    "Backend",
    "BackendKind",
    "ChatBody",
    "Completion",
    "ExtractionRequest",
    "OpenAISender",
    "Sender",
    "StructuredBackend",
    "Transport",
    "open_sender",
]

_LOCAL_BASE_URL = "http://local.summarize.invalid/v1"  # never resolved: the transport answers


def open_sender(settings: Settings, *, transport: Transport | None = None) -> OpenAISender:
    """The HTTP sender `settings` ask for. `transport` replaces the network (tests, custom HTTP)."""
    if not settings.is_local:
        return OpenAISender(settings, transport=transport)
    if transport is None:
        from summarize.backends.local import LlamaTransport

        transport = LlamaTransport(
            settings.local_model_path, n_ctx=settings.n_ctx, n_threads=settings.n_threads
        )
    local = settings.replace(model=settings.model_name, base_url=_LOCAL_BASE_URL, api_key="local")
    return OpenAISender(
        local,
        transport=transport,
        kind="local",
        extra_body={"repeat_penalty": settings.repeat_penalty},
    )
