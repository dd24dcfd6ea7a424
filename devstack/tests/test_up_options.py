"""`make up`'s environment switches for load tests: rate limits and API workers."""

from __future__ import annotations

import pytest

from newsroom_devstack.cli import OptionError, main, up_options
from newsroom_devstack.gateway import UNLIMITED, GatewaySettings


def test_defaults_keep_the_rate_limits_and_one_worker_per_api() -> None:
    options = up_options({})

    assert options.gateway == GatewaySettings()
    assert options.api_workers == 1
    assert options.gateway_port == 8080
    assert options.dev_ports


def test_load_test_switches_lift_the_limits_and_set_the_workers() -> None:
    options = up_options({"NEWSROOM_RATE_LIMIT": "off", "NEWSROOM_API_WORKERS": "4"})

    assert options.gateway == UNLIMITED
    assert options.api_workers == 4


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEWSROOM_RATE_LIMIT", "maybe"),
        ("NEWSROOM_API_WORKERS", "0"),
        ("NEWSROOM_API_WORKERS", "two"),
        ("GATEWAY_PORT", "http"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(OptionError, match=variable):
        up_options({variable: value})


def test_make_up_stops_before_starting_anything_on_a_bad_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSROOM_API_WORKERS", "-1")

    assert main(["up"]) == 2

    assert "NEWSROOM_API_WORKERS must be a whole number" in capsys.readouterr().err


def test_users_waits_for_the_follow_readers_of_the_services_the_stack_runs() -> None:
    from pathlib import Path

    from newsroom_articles.topics import FOLLOW_READERS
    from newsroom_devstack.services import get, service_env

    def users_env(readers: list[str]) -> dict[str, str]:
        return service_env(
            get("users"),
            database_url="postgresql://db/x",
            bootstrap_servers="127.0.0.1:9092",
            users_port=8001,
            log_level="INFO",
            jwt_private_key_file=Path("key.pem"),
            follow_readers=readers,
        )

    readers = [g for name in ("users", "articles", "views") for g in get(name).follow_readers()]
    assert readers == list(FOLLOW_READERS)
    assert users_env(readers)["USERS_FOLLOW_READERS"] == ",".join(FOLLOW_READERS)
    # Without articles in the stack, nobody promises the replica: users waits for nobody.
    assert "USERS_FOLLOW_READERS" not in users_env([])
