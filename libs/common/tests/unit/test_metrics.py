"""HTTP metrics by route template, and the exposition endpoint."""

from __future__ import annotations

from flask import Flask

from newsroom_common.web import create_base_app


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_requests_are_counted_per_route_template_not_per_path() -> None:
    app: Flask = create_base_app("newsroom_metricsdemo", readiness={})

    @app.get("/things/<slug>")
    def thing(slug: str) -> dict[str, str]:
        return {"slug": slug}

    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    for slug in ("a", "b", "c"):
        assert client.get(f"/things/{slug}").status_code == 200
    client.get("/nowhere")
    after = client.get("/metrics").get_data(as_text=True)
    labels = {"service": "metricsdemo", "method": "GET", "route": "/things/<slug>", "status": "200"}
    name = "newsroom_http_requests_total"
    assert _sample(after, name, **labels) - _sample(before, name, **labels) == 3
    assert _sample(after, name, service="metricsdemo", route="unmatched", status="404") >= 1
    assert "/things/a" not in after
    assert "newsroom_http_request_duration_seconds_bucket" in after
