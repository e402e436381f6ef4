from __future__ import annotations

import inspect

import pytest

import summarize
import summarize.errors as errors_module
from summarize.errors import (
    AuthenticationError,
    BackendError,
    DeadlineExceededError,
    InvalidOutputError,
    MalformedResponseError,
    RateLimitError,
    RefusalError,
    RequestRejectedError,
    RequestTimeoutError,
    ResponseError,
    ServiceUnavailableError,
    SummarizeError,
    TransientError,
    TruncatedError,
)

PUBLIC_API = [
    "Actor",
    "ArticleSummary",
    "Attempt",
    "AuthenticationError",
    "BackendError",
    "BatchReport",
    "BinaryInputError",
    "CacheError",
    "CacheWarning",
    "ConfigError",
    "DeadlineExceededError",
    "EmptyInputError",
    "Evidence",
    "GroundingError",
    "InputError",
    "InputTooLargeError",
    "InvalidOutputError",
    "MalformedResponseError",
    "Meta",
    "Position",
    "PromptError",
    "RateLimitError",
    "Rebuttal",
    "RefusalError",
    "RequestRejectedError",
    "RequestTimeoutError",
    "ResponseError",
    "RetryPolicy",
    "ServiceUnavailableError",
    "Settings",
    "SummarizeError",
    "Summarizer",
    "SummaryBatch",
    "TransientError",
    "TruncatedError",
    "Usage",
    "Venue",
    "WarningItem",
    "asummarize",
    "summarize",
]

ERROR_CLASSES = [
    obj
    for _, obj in inspect.getmembers(errors_module, inspect.isclass)
    if issubclass(obj, BaseException)
    and not issubclass(obj, Warning)
    and obj.__module__ == errors_module.__name__
]


def test_all_is_the_documented_public_api() -> None:
    assert sorted(summarize.__all__) == summarize.__all__, "summarize.__all__ is not sorted"
    assert summarize.__all__ == PUBLIC_API, (
        f"public API changed: added {sorted(set(summarize.__all__) - set(PUBLIC_API))}, "
        f"removed {sorted(set(PUBLIC_API) - set(summarize.__all__))}"
    )


@pytest.mark.parametrize("name", PUBLIC_API)
def test_every_public_name_is_importable(name: str) -> None:
    assert getattr(summarize, name, None) is not None, f"summarize.{name} is missing"


def test_star_import_exposes_the_public_api() -> None:
    namespace: dict[str, object] = {}
    exec("from summarize import *", namespace)
    assert set(PUBLIC_API) <= namespace.keys()


def test_common_imports() -> None:
    from summarize import ArticleSummary, SummarizeError, Summarizer, asummarize
    from summarize import summarize as summarize_function

    assert inspect.isclass(Summarizer)
    assert inspect.isclass(ArticleSummary)
    assert callable(summarize_function), "summarize.summarize is not the function"
    assert inspect.iscoroutinefunction(asummarize), "asummarize is not async"
    assert issubclass(SummarizeError, Exception)


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert summarize.__version__ == version("summarize")


def test_errors_module_exports_every_error_class() -> None:
    names = sorted(cls.__name__ for cls in ERROR_CLASSES)
    assert sorted(errors_module.__all__) == sorted([*names, "CacheWarning"])
    missing = sorted(set(names) - set(summarize.__all__))
    assert not missing, f"error classes not re-exported from summarize: {missing}"


@pytest.mark.parametrize("error", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_is_a_summarize_error(error: type[BaseException]) -> None:
    assert issubclass(error, SummarizeError), f"{error.__name__} escapes `except SummarizeError`"


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (TransientError, BackendError),
        (RateLimitError, TransientError),
        (ServiceUnavailableError, TransientError),
        (RequestTimeoutError, TransientError),
        (DeadlineExceededError, RequestTimeoutError),
        (RequestRejectedError, BackendError),
        (AuthenticationError, RequestRejectedError),
        (ResponseError, BackendError),
        (TruncatedError, ResponseError),
        (RefusalError, ResponseError),
        (MalformedResponseError, ResponseError),
        (InvalidOutputError, ResponseError),
    ],
)
def test_backend_error_tree(error: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(error, parent), f"{error.__name__} must subclass {parent.__name__}"


@pytest.mark.parametrize(
    "error",
    [
        RequestRejectedError,
        AuthenticationError,
        TruncatedError,
        RefusalError,
        MalformedResponseError,
        InvalidOutputError,
    ],
)
def test_permanent_backend_errors_are_not_transient(error: type[Exception]) -> None:
    assert not issubclass(error, TransientError), f"{error.__name__} would be retried"


def test_the_error_tree_drawn_in_the_docstring_is_the_real_one() -> None:
    doc = errors_module.__doc__ or ""
    assert "\n    SummarizeError\n" in doc, "the tree's root is not SummarizeError"
    for cls in ERROR_CLASSES:
        if cls is SummarizeError:
            continue
        assert f"── {cls.__name__} " in doc, f"{cls.__name__} is missing from the drawn tree"


def test_backend_errors_carry_what_the_call_cost() -> None:
    error = TruncatedError("cut off", model="m", status=200, request_id="req_1")
    assert (error.message, error.model, error.status, error.request_id) == (
        "cut off",
        "m",
        200,
        "req_1",
    )
    assert (error.attempts, error.usage.total_tokens, error.attempt_log) == (0, 0, ())
    error.attempts = 3
    assert str(error) == "cut off (gave up after 3 attempts)"
    limited = RateLimitError("slow down", retry_after=1.5)
    assert (limited.retry_after, limited.status) == (1.5, 429)


def test_backend_errors_survive_pickling() -> None:
    import pickle

    error = RateLimitError("slow down", model="m", retry_after=2.0)
    error.attempts = 4
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is RateLimitError
    assert (str(copy), copy.retry_after, copy.attempts) == (str(error), 2.0, 4)


def test_errors_with_structured_arguments_survive_pickling() -> None:
    import pickle

    from summarize.errors import GroundingError, InputTooLargeError

    too_large = pickle.loads(pickle.dumps(InputTooLargeError(10, 5)))
    assert (too_large.size, too_large.limit, str(too_large)) == (
        10,
        5,
        str(InputTooLargeError(10, 5)),
    )
    grounding = pickle.loads(pickle.dumps(GroundingError(["a quote"])))
    assert grounding.quotes == ["a quote"]


def test_star_import_shadows_no_builtin() -> None:
    import builtins

    namespace: dict[str, object] = {}
    exec("from summarize import *", namespace)
    shadowed = sorted(n for n in namespace if n != "__builtins__" and hasattr(builtins, n))
    assert not shadowed, f"`from summarize import *` shadows builtins: {shadowed}"


@pytest.mark.parametrize("module", ["summarize", "summarize.schema"])
def test_old_warning_name_still_imports_with_a_deprecation(module: str) -> None:
    import importlib

    from summarize import WarningItem

    with pytest.warns(DeprecationWarning, match="WarningItem"):
        old = importlib.import_module(module).Warning
    assert old is WarningItem
