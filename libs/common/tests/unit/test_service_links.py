"""Strict settings accept Kubernetes' service links for any Service named with the prefix.

Kubernetes gives every container the links of every Service in its namespace. A Service
named "views-db" adds VIEWS_DB_SERVICE_HOST, VIEWS_DB_PORT_5432_TCP, ... beside the views
settings; the strict check took them for misspelt settings and the pods crash-looped.
"""

from __future__ import annotations

import pytest

from newsroom_common.config import ServiceSettings, SettingsError, load_settings

DATABASE = {"VIEWS_DATABASE_URL": "postgresql://views@db/views"}


def service_links(name: str, address: str, port: int, port_name: str) -> dict[str, str]:
    """What the kubelet writes for Service `name` (ClusterIP `address`, one TCP port)."""
    upper = name.upper().replace("-", "_")
    host = f"[{address}]" if ":" in address else address
    url = f"tcp://{host}:{port}"
    return {
        f"{upper}_SERVICE_HOST": address,
        f"{upper}_SERVICE_PORT": str(port),
        f"{upper}_SERVICE_PORT_{port_name.upper().replace('-', '_')}": str(port),
        f"{upper}_PORT": url,
        f"{upper}_PORT_{port}_TCP": url,
        f"{upper}_PORT_{port}_TCP_PROTO": "tcp",
        f"{upper}_PORT_{port}_TCP_PORT": str(port),
        f"{upper}_PORT_{port}_TCP_ADDR": address,
    }


@pytest.mark.parametrize(
    "links",
    [
        pytest.param(service_links("views", "10.96.0.12", 8003, "http"), id="named-like-prefix"),
        pytest.param(service_links("views-db", "10.96.4.7", 5432, "postgres"), id="views-db"),
        pytest.param(
            service_links("views-worker-metrics", "10.96.4.8", 9090, "metrics"),
            id="views-worker-metrics",
        ),
        pytest.param(service_links("views-db", "fd00:10:96::7", 5432, "pg"), id="ipv6"),
    ],
)
def test_service_links_of_any_service_with_the_prefix_are_not_settings(
    links: dict[str, str],
) -> None:
    settings = load_settings(ServiceSettings, prefix="VIEWS_", environ={**DATABASE, **links})
    assert settings.database_url.get().endswith("/views")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # A setting misspelt into a service-link shape: the value gives it away.
        ("VIEWS_PORT", "8003"),
        ("VIEWS_DB_PORT", "5432"),
        ("VIEWS_SERVICE_HOST", "views.internal"),
        ("VIEWS_DB_PORT_5432_TCP", "tcp://10.96.4.7:5433"),
        ("VIEWS_DB_PORT_5432_TCP_PROTO", "udp"),
        ("VIEWS_DB_PORT_5432_TCP_ADDR", "db"),
        ("VIEWS_DB_SERVICE_PORT", "http"),
        # Not a service-link shape at all.
        ("VIEWS_DATABSE_URL", "postgresql://views@db/views"),
        ("VIEWS_DB_PORT_5432", "5432"),
    ],
)
def test_a_misspelt_setting_is_still_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=rf"^{name}: not a setting of ServiceSettings"):
        load_settings(ServiceSettings, prefix="VIEWS_", environ={**DATABASE, name: value})
