"""KEDA on the local cluster (issue 18, item 3): a consumer's autoscaling handed from the chart's
HPA to a KEDA ScaledObject and back, with KEDA's operator, external metrics API and admission
webhooks as `make cluster` runs them (v2.16.1, built from its Go module).

Runs after the other proofs of the release (file order): its upgrades roll the views
consumer's pods and run the hooks again, which the migration proof would read as the install's.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import yaml

from newsroom_devstack.cluster import Cluster
from newsroom_devstack.cluster_deploy import (
    GATEWAY_URL,
    NAMESPACE,
    RELEASE,
    helm_install_command,
    image_flags,
    values_file,
)
from newsroom_devstack.paths import repo_root

from .conftest import (
    helm_path,
    kubectl,
    kubectl_input,
    record,
    register,
    release_json,
    run,
    wait_for,
)

CONSUMER = f"{RELEASE}-views-consumer"
# KEDA's name for the metric of the ScaledObject's first trigger: the lag of views ingestion.
LAG_METRIC = "s0-kafka-articles-views-v1"
TRANSFER = "scaledobject.keda.sh/transfer-hpa-ownership"
# KEDA on for the views consumer, at the chart's lag threshold (100 records per replica), and
# the consumer made slow on purpose, so that the views a test can send through the gateway
# outrun a few of them, as a real burst outruns the default ones: one view per transaction and
# offset commit (VIEWS_INGEST_BATCH_SIZE=1) on 100m of CPU. Its CPU target is 100% of a
# request equal to its limit, so a busy consumer asks for no more replicas on CPU: a scale-out
# under the views is the lag's. CPU may still take it up while the upgrade starts new pods
# (Python starting is busy), so the proof starts from wherever the HPA settles, below a
# maximum that leaves room to scale out from there.
MAX_REPLICAS = 6
KEDA_ON = (
    "--set=views.consumer.keda.enabled=true",
    f"--set=views.consumer.autoscaling.maxReplicas={MAX_REPLICAS}",
    "--set=views.consumer.autoscaling.targetCPUUtilizationPercentage=100",
    "--set=views.consumer.resources.requests.cpu=100m",
    "--set=views.consumer.resources.limits.cpu=100m",
    "--set=views.consumer.extraEnv[0].name=VIEWS_INGEST_BATCH_SIZE",
    "--set-string=views.consumer.extraEnv[0].value=1",
)


def _upgrade(cluster: Cluster, *extra: str) -> subprocess.CompletedProcess[str]:
    return run(
        helm_install_command(helm_path(), cluster.layout.kubeconfig, *image_flags(), *extra),
        timeout=900,
    )


def _rendered_scaled_object() -> dict[str, Any]:
    """The chart's ScaledObject for the views consumer, as `helm template` writes it."""
    result = run(
        [
            str(helm_path()),
            "template",
            RELEASE,
            str(repo_root() / "charts" / "newsroom"),
            f"--namespace={NAMESPACE}",
            f"--values={values_file()}",
            *image_flags(),
            *KEDA_ON,
        ],
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for document in yaml.safe_load_all(result.stdout):
        if document and (document["kind"], document["metadata"]["name"]) == (
            "ScaledObject",
            CONSUMER,
        ):
            return dict(document)
    pytest.fail(f"helm template rendered no ScaledObject {CONSUMER}")


def _dry_run(cluster: Cluster, manifest: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """`kubectl apply --dry-run=server`: admission (KEDA's webhook) runs, nothing is stored."""
    return kubectl_input(
        cluster, manifest, "-n", NAMESPACE, "apply", "--dry-run=server", "-f", "-", timeout=60
    )


def _hpa(cluster: Cluster, *flags: str) -> dict[str, Any] | None:
    result = cluster.kubectl(
        "-n",
        NAMESPACE,
        "get",
        "hpa",
        CONSUMER,
        "-o",
        "json",
        "--ignore-not-found",
        *flags,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def _external(hpa: dict[str, Any]) -> dict[str, str]:
    """The external metrics the HPA read last, by name: their current average values."""
    return {
        metric["external"]["metric"]["name"]: metric["external"]["current"].get("averageValue")
        for metric in (hpa.get("status") or {}).get("currentMetrics") or []
        if metric.get("type") == "External"
    }


def _rescaled_on_lag(cluster: Cluster, since: datetime) -> int | None:
    """The new size of the HPA's first rescale since `since` that names the lag metric."""
    events = release_json(
        cluster,
        "get",
        "events",
        f"--field-selector=involvedObject.kind=HorizontalPodAutoscaler,"
        f"involvedObject.name={CONSUMER},reason=SuccessfulRescale",
    )["items"]
    for event in events:
        stamp = event.get("lastTimestamp") or event.get("eventTime")
        at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        # Event times have a one-second grain.
        if (
            at >= since.replace(microsecond=0)
            and f"external metric {LAG_METRIC}" in event["message"]
        ):
            # "New size: 4; reason: external metric s0-kafka-...(...) above target"
            size = re.match(r"New size: (\d+);", event["message"])
            assert size, event["message"]
            return int(size.group(1))
    return None


def _keda_hpa(cluster: Cluster) -> dict[str, Any] | None:
    """KEDA's HPA for the consumer, once it has read a value for each consumed topic's lag."""
    found = _hpa(cluster)
    if found is None:
        return None
    owned = any(o["kind"] == "ScaledObject" for o in found["metadata"].get("ownerReferences", []))
    read = [value for value in _external(found).values() if value is not None]
    return found if owned and len(read) == 3 else None


def _settled(cluster: Cluster) -> int | None:
    """The consumer's replicas once its HPA wants what runs, all of it the upgrade's pods and
    ready, below the maximum."""
    status = (_hpa(cluster) or {}).get("status") or {}
    current = status.get("currentReplicas")
    if not current or current != status.get("desiredReplicas") or current >= MAX_REPLICAS:
        return None
    deployment = release_json(cluster, "get", "deployment", CONSUMER)
    rollout = deployment.get("status") or {}
    counts = {rollout.get(k) for k in ("replicas", "updatedReplicas", "readyReplicas")}
    wanted = deployment["spec"]["replicas"] == current
    return int(current) if wanted and counts == {current} else None


def _read_article_views(slug: str, seconds: float, done: threading.Event) -> tuple[int, int]:
    """Read one article through the gateway from four threads, for `seconds` or until `done`:
    each read is one view event."""
    stop = time.monotonic() + seconds
    counts = {"sent": 0, "failed": 0}
    lock = threading.Lock()

    def reader() -> None:
        session = requests.Session()
        while time.monotonic() < stop and not done.is_set():
            try:
                ok = (
                    session.get(f"{GATEWAY_URL}/api/articles/{slug}", timeout=15).status_code == 200
                )
            except requests.RequestException:
                ok = False
            with lock:
                counts["sent"] += 1
                counts["failed"] += not ok

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    return counts["sent"], counts["failed"]


@pytest.mark.timeout(1500)
def test_keda_takes_the_consumer_over_from_the_hpa_scales_it_on_lag_and_hands_it_back(
    cluster: Cluster,
) -> None:
    # Before: the chart's own HPA scales the consumer, and KEDA's webhook refuses a second
    # autoscaler for it, unless the ScaledObject asks to take that HPA over (the chart's does).
    before = _hpa(cluster)
    assert before is not None, f"no HPA {CONSUMER} before KEDA"
    assert not before["metadata"].get("ownerReferences"), before["metadata"]
    scaled_object = _rendered_scaled_object()
    assert scaled_object["metadata"]["annotations"][TRANSFER] == "true"
    assert scaled_object["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["name"] == CONSUMER
    accepted = _dry_run(cluster, scaled_object)
    assert accepted.returncode == 0, accepted.stderr
    without = copy.deepcopy(scaled_object)
    del without["metadata"]["annotations"][TRANSFER]
    refused = _dry_run(cluster, without)
    assert refused.returncode != 0, "KEDA's webhook let a second autoscaler in"
    assert f"already managed by the hpa '{CONSUMER}'" in refused.stderr, refused.stderr

    # On: the upgrade swaps the HPA for the ScaledObject; KEDA's HPA of the same name is
    # owned by the ScaledObject and reads the consumer groups' lag through KEDA's metrics API.
    started = time.monotonic()
    on = _upgrade(cluster, *KEDA_ON)
    assert on.returncode == 0, on.stdout + on.stderr
    on_seconds = time.monotonic() - started
    manifest = run(
        [
            str(helm_path()),
            f"--kubeconfig={cluster.layout.kubeconfig}",
            "get",
            "manifest",
            RELEASE,
            f"--namespace={NAMESPACE}",
        ]
    )
    assert manifest.returncode == 0, manifest.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(manifest.stdout) if d}
    assert ("ScaledObject", CONSUMER) in kinds
    assert ("HorizontalPodAutoscaler", CONSUMER) not in kinds, "the chart still renders an HPA"
    wait_for(
        "the ScaledObject Ready",
        lambda: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (
                release_json(cluster, "get", "scaledobject", CONSUMER).get("status") or {}
            ).get("conditions", [])
        ),
        120,
        interval=2,
    )
    hpa = wait_for(
        "KEDA's HPA reading the lag of each consumed topic",
        lambda: _keda_hpa(cluster),
        180,
        interval=2,
    )
    assert [h["metadata"]["name"] for h in release_json(cluster, "get", "hpa")["items"]].count(
        CONSUMER
    ) == 1
    assert set(_external(hpa)) == {
        LAG_METRIC,
        "s1-kafka-articles-events-v1",
        "s2-kafka-users-events-v1",
    }, _external(hpa)
    assert int(hpa["spec"]["maxReplicas"]) == MAX_REPLICAS, hpa["spec"]
    # Before the lag is made, the HPA settled: what it wants is what runs and is ready, with
    # room above it.
    start = wait_for(
        f"{CONSUMER}'s HPA settled below {MAX_REPLICAS} replicas, all of them ready",
        lambda: _settled(cluster),
        420,
        interval=2,
    )

    # Lag scales it: each view read through the gateway is an event on articles.views.v1, more
    # than the two slow consumers take, and the HPA scales out on the lag metric, naming it in
    # its event.
    _, token = register("keda")
    article = requests.post(
        f"{GATEWAY_URL}/api/articles",
        json={"article": {"title": f"Lag {uuid.uuid4().hex[:6]}", "description": "d", "body": "b"}},
        headers={"Authorization": f"Token {token}"},
        timeout=15,
    )
    assert article.status_code == 201, article.text
    slug = article.json()["article"]["slug"]
    since = datetime.now(UTC)
    started = time.monotonic()
    done: dict[str, tuple[int, int]] = {}
    scaled_out = threading.Event()
    reads = threading.Thread(
        target=lambda: done.setdefault("reads", _read_article_views(slug, 180, scaled_out)),
        daemon=True,
    )
    reads.start()
    lags: list[str] = []
    scaled: int | None = None
    out_seconds = 0.0
    while time.monotonic() - started < 180 and scaled is None:
        lags.append(str(_external(_hpa(cluster) or {}).get(LAG_METRIC)))
        scaled = _rescaled_on_lag(cluster, since)
        out_seconds = time.monotonic() - started
        time.sleep(2)
    scaled_out.set()
    reads.join(timeout=60)
    sent, failed = done.get("reads", (0, 0))
    record("KEDA: helm upgrade HPA -> ScaledObject (s)", f"{on_seconds:.0f}")
    record(
        "KEDA: views until a scale-out on lag (s); replicas from / to; views sent / failed",
        f"{out_seconds:.0f}; {start} / {scaled}; {sent} / {failed}"
        if scaled
        else f"> 180; {start} / -; {sent} / {failed}",
    )
    assert scaled, (
        f"no scale-out on {LAG_METRIC} within 180 s of views; the HPA read lags per "
        f"replica of {sorted(set(lags))}"
    )
    assert scaled > start, f"the HPA rescaled on lag from {start} to {scaled} replicas"
    assert failed == 0

    # Off: the way back is two steps (docs/kubernetes.md). KEDA's HPA carries the release's
    # labels, so helm would take it over, but the fields KEDA manages conflict with helm's
    # server-side apply; deleting the ScaledObject first lets KEDA's HPA go with it.
    kubectl(
        cluster, "-n", NAMESPACE, "delete", "scaledobject", CONSUMER, "--wait", "--timeout=120s"
    )
    wait_for(
        "KEDA's HPA gone with its ScaledObject", lambda: _hpa(cluster) is None, 120, interval=2
    )
    started = time.monotonic()
    off = _upgrade(cluster)
    assert off.returncode == 0, off.stdout + off.stderr
    record(
        "KEDA: way back (delete ScaledObject, helm upgrade) (s)",
        f"{time.monotonic() - started:.0f}",
    )
    back = _hpa(cluster, "--show-managed-fields")
    assert back is not None, f"no HPA {CONSUMER} after KEDA was turned off"
    assert not back["metadata"].get("ownerReferences"), back["metadata"]
    managers = {field["manager"] for field in back["metadata"]["managedFields"]}
    assert "operator" not in managers, managers  # KEDA's field manager
    assert not release_json(cluster, "get", "scaledobjects")["items"]
