from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from summarize.config import DEFAULT_OPENAI_MODEL, LOCAL_MODEL, RetryPolicy, Settings
from summarize.errors import ConfigError

SECRET = "sk-test-0123456789abcdef"


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "xml"}, r"mode must be one of tools, json_schema, json, md_json, not 'xml'"),
        ({"ungrounded": "ignore"}, r"ungrounded must be one of keep, drop, raise, not 'ignore'"),
        ({"max_reasks": -1}, r"max_reasks must not be negative"),
        ({"max_tokens": 0}, r"max_tokens must be at least 1"),
        ({"max_input_chars": 0}, r"max_input_chars must be at least 1"),
        ({"n_ctx": 0}, r"n_ctx must be at least 1"),
        ({"timeout": 0}, r"timeout must be positive"),
        ({"retry": 3}, r"retry must be a RetryPolicy, not int"),
        ({"model": "   "}, r"model must not be empty"),
    ],
)
def test_invalid_settings_raise_config_error_naming_the_setting(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings(**options)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="max_reasks"):
        Settings(max_reasks=-1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_attempts": 0}, r"max_attempts must be at least 1"),
        ({"initial_wait": -0.1}, r"retry waits must not be negative"),
        ({"max_wait": -1}, r"retry waits must not be negative"),
        ({"deadline": 0}, r"deadline must be positive"),
    ],
)
def test_invalid_retry_policy_raises_config_error(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RetryPolicy(**options)


def test_retry_policy_defaults_and_equality() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.initial_wait, policy.max_wait) == (4, 0.5, 30.0)
    assert (policy.deadline, policy.jitter, policy.retry_truncated) == (None, True, False)
    assert policy == RetryPolicy(sleep=lambda _: None), "injected sleeps change equality"
    assert Settings().retry == policy and Settings().max_reasks == 2


def test_defaults_are_valid() -> None:
    settings = Settings()
    assert settings.mode == "tools"
    assert settings.ungrounded == "drop"
    assert settings.prompt == "article_summary"


def test_no_retries_and_no_reasks_are_allowed() -> None:
    policy = RetryPolicy(max_attempts=1, initial_wait=0, max_wait=0)
    settings = Settings(retry=policy, max_reasks=0)
    assert (settings.retry.max_attempts, settings.max_reasks) == (1, 0)


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_reasks = 9  # type: ignore[misc]
        pytest.fail("Settings.max_reasks could be assigned")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.retry.max_attempts = 9  # type: ignore[misc]
        pytest.fail("RetryPolicy.max_attempts could be assigned")


def test_replace_makes_a_validated_copy() -> None:
    settings = Settings(max_reasks=1)
    changed = settings.replace(max_reasks=5)
    assert (settings.max_reasks, changed.max_reasks) == (1, 5), "replace() changed the original"
    with pytest.raises(ConfigError, match="max_reasks must not be negative"):
        settings.replace(max_reasks=-1)


# --- from_env -------------------------------------------------------------------------------


def test_from_env_reads_the_given_mapping() -> None:
    env = {
        "SUMMARIZE_MODEL": "gpt-4o",
        "OPENAI_API_KEY": SECRET,
        "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
    }
    settings = Settings.from_env(env=env)
    assert settings.model == "gpt-4o"
    assert settings.api_key == SECRET
    assert settings.base_url == "http://127.0.0.1:8080/v1"


def test_explicit_overrides_beat_the_environment() -> None:
    env = {
        "SUMMARIZE_MODEL": "from-env",
        "OPENAI_API_KEY": "env-key",
        "OPENAI_BASE_URL": "http://e",
    }
    settings = Settings.from_env(
        env=env, model="explicit", api_key="explicit-key", base_url="http://x", max_reasks=0
    )
    assert (settings.model, settings.api_key, settings.base_url) == (
        "explicit",
        "explicit-key",
        "http://x",
    ), "an explicit setting lost to the environment"
    assert settings.max_reasks == 0


def test_none_overrides_fall_back_to_the_environment() -> None:
    settings = Settings.from_env(env={"SUMMARIZE_MODEL": "from-env"}, model=None)
    assert settings.model == "from-env"


def test_empty_environment_values_count_as_unset() -> None:
    settings = Settings.from_env(
        env={"SUMMARIZE_MODEL": "", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    )
    assert (settings.model, settings.api_key, settings.base_url) == (None, None, None)
    assert settings.is_local


def test_from_env_ignores_unrelated_variables() -> None:
    settings = Settings.from_env(env={"OPENAI_MODEL": "gpt-4o", "MODEL": "x"})
    assert settings.model is None


def test_from_env_without_mapping_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMARIZE_MODEL", "from-os-environ")
    assert Settings.from_env().model == "from-os-environ"


@pytest.mark.parametrize("name", ["retries", "max_token", "api-key"])
def test_unknown_setting_name_raises_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown setting.*{name}"):
        Settings.from_env(env={}, **{name: 1})


def test_invalid_value_via_from_env_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="mode"):
        Settings.from_env(env={}, mode="nope")


# --- backend choice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "is_local", "model_name", "path"),
    [
        ({}, True, LOCAL_MODEL, None),
        ({"api_key": SECRET}, False, DEFAULT_OPENAI_MODEL, None),
        ({"base_url": "http://127.0.0.1:11434/v1"}, False, DEFAULT_OPENAI_MODEL, None),
        ({"base_url": "http://h/v1", "model": "llama3"}, False, "llama3", None),
        ({"model": "gpt-4o", "api_key": SECRET}, False, "gpt-4o", None),
        ({"model": "local", "api_key": SECRET}, True, "local", None),
        ({"model": "local", "base_url": "http://h/v1"}, True, "local", None),
        ({"model": "local:/x.gguf"}, True, "local:/x.gguf", "/x.gguf"),
        ({"model": "local:/models/a:b.gguf"}, True, "local:/models/a:b.gguf", "/models/a:b.gguf"),
        ({"model": "local:"}, True, "local:", None),
    ],
)
def test_backend_choice(
    options: dict[str, Any], is_local: bool, model_name: str, path: str | None
) -> None:
    settings = Settings(**options)
    got = (settings.is_local, settings.model_name, settings.local_model_path)
    assert got == (is_local, model_name, path), f"Settings({options}) -> {got}"


def test_api_key_is_not_shown_in_repr() -> None:
    settings = Settings(api_key=SECRET, base_url="http://h/v1")
    assert SECRET not in repr(settings), "repr(Settings) leaks the API key"
    assert SECRET not in str(settings), "str(Settings) leaks the API key"
    assert "http://h/v1" in repr(settings)


def test_default_local_backend_keeps_the_local_model_name() -> None:
    from summarize.backends import open_sender
    from summarize.testing import FakeLLM

    backend = open_sender(Settings(), transport=FakeLLM().transport)
    assert (backend.kind, backend.model) == ("local", "local")


def test_unknown_option_with_explicit_settings_is_a_config_error() -> None:
    from summarize import Summarizer

    with pytest.raises(ConfigError, match="unknown setting"):
        Summarizer(settings=Settings(), retrys=3)
