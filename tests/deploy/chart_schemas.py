"""The values.schema.json of every chart, built from shared pieces.

The service charts share most of their values (image, database, autoscaling, ...), so
their schemas are generated here rather than kept as near-copies by hand; a test checks
that the committed files are what this produces. Every object is closed
(additionalProperties: false), so a misspelt key fails `helm lint` and `helm install`.

Regenerate after changing a chart's values: python tests/deploy/chart_schemas.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CHARTS = Path(__file__).resolve().parents[2] / "charts"
SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"

Schema = dict[str, Any]


def closed(properties: Schema, required: list[str] | None = None, **extra: Any) -> Schema:
    """An object with exactly these properties."""
    schema: Schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def integer(minimum: int | None = None, maximum: int | None = None) -> Schema:
    schema: Schema = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


BOOLEAN: Schema = {"type": "boolean"}
STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
# Kubernetes objects passed through as they are (validated by the API server).
K8S_OBJECT: Schema = {"type": "object"}
K8S_LIST: Schema = {"type": "array", "items": {"type": "object"}}
QUANTITY: Schema = {"type": ["string", "number"]}
PORT = integer(1, 65535)

NETWORK_POLICY_PEERS: Schema = {
    "type": "array",
    "items": closed(
        {"podSelector": K8S_OBJECT, "namespaceSelector": K8S_OBJECT, "ipBlock": K8S_OBJECT},
        minProperties=1,
    ),
}

LABELS: Schema = {
    "type": "object",
    "propertyNames": {"pattern": r"^([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"},
    "additionalProperties": {"type": "string", "maxLength": 63},
}
IMAGE_PULL_SECRETS: Schema = {
    "type": "array",
    "items": closed({"name": string(minLength=1)}, required=["name"]),
}

GLOBAL = closed(
    {
        "platform": string(pattern="^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$", maxLength=40),
        "imageRegistry": string(),
        # Prepended to every chart's own imagePullSecrets.
        "imagePullSecrets": IMAGE_PULL_SECRETS,
        # The charts create no PersistentVolumeClaim; accepted so that a parent chart's
        # global (bitnami convention) passes the schema.
        "storageClass": string(),
        "commonLabels": LABELS,
        "kafka": closed(
            {
                "bootstrapServers": string(minLength=1),
                "port": PORT,
                "networkPolicyPeers": NETWORK_POLICY_PEERS,
                "createTopics": BOOLEAN,
                "replicationFactor": integer(1),
                "topicConfig": STRING_MAP,
            }
        ),
        "otel": closed(
            {"endpoint": string(), "port": PORT, "networkPolicyPeers": NETWORK_POLICY_PEERS}
        ),
        "networkPolicy": closed(
            {"enabled": BOOLEAN, "dnsPeers": NETWORK_POLICY_PEERS, "dnsPort": PORT}
        ),
    }
)

IMAGE = closed(
    {
        "registry": string(),
        "repository": string(minLength=1),
        "tag": string(),
        "digest": string(pattern="^(sha256:[a-f0-9]{64})?$"),
        "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    },
    required=["repository"],
)

RESOURCE_AMOUNTS = closed(
    {"cpu": QUANTITY, "memory": QUANTITY, "ephemeral-storage": QUANTITY},
    required=["cpu", "memory"],
)
# Requests and limits are both required: an unbounded pod is not deployable here.
RESOURCES = closed(
    {"requests": RESOURCE_AMOUNTS, "limits": RESOURCE_AMOUNTS}, required=["requests", "limits"]
)

AUTOSCALING = closed(
    {
        "enabled": BOOLEAN,
        "minReplicas": integer(1),
        "maxReplicas": integer(1),
        "targetCPUUtilizationPercentage": integer(1, 100),
        "targetMemoryUtilizationPercentage": {"type": ["integer", "null"], "minimum": 1},
        "scaleDownStabilizationWindowSeconds": integer(0, 3600),
    },
    required=["enabled", "minReplicas", "maxReplicas", "targetCPUUtilizationPercentage"],
)

KEDA = closed(
    {
        "enabled": BOOLEAN,
        "lagThreshold": integer(1),
        "pollingInterval": integer(1),
    }
)

ENV_VARS: Schema = {
    "type": "array",
    "items": closed(
        {
            "name": string(pattern="^[A-Za-z_][A-Za-z0-9_]*$"),
            "value": string(),
            "valueFrom": K8S_OBJECT,
        },
        required=["name"],
    ),
}

SCHEDULING: Schema = {
    "podAnnotations": STRING_MAP,
    "podLabels": LABELS,
    "priorityClassName": string(maxLength=253),
    "extraEnv": ENV_VARS,
    "nodeSelector": STRING_MAP,
    "tolerations": K8S_LIST,
    "affinity": K8S_OBJECT,
}

# Probe timings merged over the chart's (the paths and port are the image's contract).
PROBE = closed(
    {
        "initialDelaySeconds": integer(0, 600),
        "periodSeconds": integer(1, 300),
        "timeoutSeconds": integer(1, 60),
        "failureThreshold": integer(1, 100),
        "successThreshold": integer(1, 10),
    }
)

# Pod and container security contexts: Kubernetes objects merged over the chart's, so a
# key set to null removes the chart's default (OpenShift's restricted SCC assigns uids).
SECURITY_CONTEXTS: Schema = {
    "podSecurityContext": K8S_OBJECT,
    "containerSecurityContext": K8S_OBJECT,
}


def workload(*, api: bool = False, consumer: bool = False, single: bool = False) -> Schema:
    """The values of one workload (API, relay, consumer).

    A single-active workload (the relays: one holds the outbox lock) has a fixed, small
    replica count and no autoscaling.
    """
    properties: Schema = {
        "replicas": integer(1, 3) if single else integer(1),
        "resources": RESOURCES,
        "podDisruptionBudget": closed({"enabled": BOOLEAN}),
        **SCHEDULING,
        **SECURITY_CONTEXTS,
        "extraVolumes": K8S_LIST,
        "extraVolumeMounts": K8S_LIST,
        "initContainers": K8S_LIST,
        "sidecars": K8S_LIST,
        "startupProbe": PROBE,
        "livenessProbe": PROBE,
        "readinessProbe": PROBE,
        "preStopSleepSeconds": integer(0, 300),
    }
    if not single:
        properties["autoscaling"] = AUTOSCALING
    if api:
        properties["workers"] = integer(1, 64)
        properties["threads"] = integer(1, 256)
    if consumer:
        properties["keda"] = KEDA
    return closed(properties, required=["resources"] if single else ["resources", "autoscaling"])


COMMON: Schema = {
    "global": GLOBAL,
    # Set by the umbrella chart's dependency condition.
    "enabled": BOOLEAN,
    # Helm's own entry for the library chart dependency (it takes no values).
    "newsroom-lib": {"type": "object"},
    "nameOverride": string(),
    "fullnameOverride": string(),
    "image": IMAGE,
    "imagePullSecrets": IMAGE_PULL_SECRETS,
    "commonLabels": LABELS,
    **SECURITY_CONTEXTS,
    "serviceAccount": closed(
        {
            "create": BOOLEAN,
            "name": string(pattern="^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$", maxLength=253),
            "annotations": STRING_MAP,
        }
    ),
    "topologySpread": closed(
        {"enabled": BOOLEAN, "whenUnsatisfiable": {"enum": ["ScheduleAnyway", "DoNotSchedule"]}}
    ),
}

DURATION = string(pattern="^[0-9]+(ms|s|m|h)$")
METRICS = closed(
    {
        "serviceMonitor": closed(
            {
                "enabled": BOOLEAN,
                "interval": DURATION,
                "scrapeTimeout": DURATION,
                "labels": STRING_MAP,
            },
            required=["enabled", "interval", "scrapeTimeout"],
        )
    },
    required=["serviceMonitor"],
)

SERVICE_COMMON: Schema = {
    **COMMON,
    "devMode": BOOLEAN,
    "logLevel": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]},
    "database": closed(
        {
            "existingSecret": string(minLength=1),
            "existingSecretKey": string(minLength=1),
            "port": PORT,
            "poolSize": integer(1, 100),
            "maxOverflow": integer(0, 100),
            "networkPolicyPeers": NETWORK_POLICY_PEERS,
            "pooler": closed(
                {
                    "enabled": BOOLEAN,
                    "host": string(pattern="^([a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$"),
                    "port": PORT,
                    "usernameKey": string(minLength=1),
                    "passwordKey": string(minLength=1),
                    "databaseKey": string(minLength=1),
                    "networkPolicyPeers": NETWORK_POLICY_PEERS,
                }
            ),
        },
        required=["existingSecret", "existingSecretKey"],
    ),
    # The hook Jobs (migrations, topics).
    "migrations": closed(
        {
            "enabled": BOOLEAN,
            "backoffLimit": integer(0, 20),
            "activeDeadlineSeconds": integer(1),
            "resources": RESOURCES,
            **SCHEDULING,
        }
    ),
    "networkPolicy": closed({"extraIngress": NETWORK_POLICY_PEERS, "extraEgress": K8S_LIST}),
    "metrics": METRICS,
}

USERS_SERVICE = closed({"host": string(), "port": PORT})


def service_chart(title: str, workloads: Schema, extra: Schema) -> Schema:
    return {
        "$schema": SCHEMA_DRAFT,
        "title": title,
        **closed({**SERVICE_COMMON, **extra, **workloads}),
    }


def schemas() -> dict[str, Schema]:
    """Chart directory name -> its values schema."""
    users = service_chart(
        "Values of the Newsroom users chart",
        {"api": workload(api=True), "relay": workload(single=True)},
        {
            "jwt": closed(
                {
                    "existingSecret": string(minLength=1),
                    "existingSecretKey": string(minLength=1),
                    "ttlSeconds": integer(60),
                    "previousKeys": {
                        "type": "array",
                        "maxItems": 10,
                        "items": closed(
                            {
                                "existingSecret": string(minLength=1),
                                "existingSecretKey": string(minLength=1),
                            },
                            required=["existingSecret"],
                        ),
                    },
                },
                required=["existingSecret", "existingSecretKey"],
            ),
            "followVisibility": closed(
                {
                    "readers": {
                        "type": "array",
                        "uniqueItems": True,
                        "items": string(minLength=1, pattern="^[A-Za-z0-9._-]+$"),
                    },
                    "timeoutSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 30},
                },
                required=["readers", "timeoutSeconds"],
            ),
        },
    )
    articles = service_chart(
        "Values of the Newsroom articles chart",
        {
            "api": workload(api=True),
            "relay": workload(single=True),
            "consumer": workload(consumer=True),
        },
        {"usersService": USERS_SERVICE},
    )
    views = service_chart(
        "Values of the Newsroom views chart",
        {"api": workload(api=True), "consumer": workload(consumer=True)},
        {},
    )
    upstream = closed({"host": string(), "port": PORT}, required=["port"])
    gateway_values = workload()["properties"]
    gateway = {
        "$schema": SCHEMA_DRAFT,
        "title": "Values of the Newsroom gateway chart",
        **closed(
            {
                **COMMON,
                **gateway_values,
                "upstreams": closed(
                    {"users": upstream, "articles": upstream, "views": upstream},
                    required=["users", "articles", "views"],
                ),
                "workerProcesses": string(pattern="^(auto|[1-9][0-9]*)$"),
                "rateLimit": closed(
                    {
                        "perSecond": integer(1),
                        "burst": integer(0),
                        "authPerMinute": integer(1),
                        "authBurst": integer(0),
                    },
                    required=["perSecond", "burst", "authPerMinute", "authBurst"],
                ),
                "cors": closed(
                    {
                        "origins": {
                            "type": "array",
                            # The devstack's rule: an exact origin, or ~regex without quotes.
                            "items": string(
                                pattern=r"^(~[^\"\s;]+|https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?)$"
                            ),
                        }
                    }
                ),
                "cache": closed({"enabled": BOOLEAN}),
                "trustedProxies": {
                    "type": "array",
                    # An IPv4 or IPv6 network in CIDR notation (nginx checks it at start).
                    "items": string(pattern=r"^[0-9A-Fa-f.:]+/[0-9]{1,3}$"),
                },
                "service": closed(
                    {
                        "type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                        # NodePort/LoadBalancer: a fixed node port in the default range.
                        "nodePort": {
                            "type": ["integer", "null"],
                            "minimum": 30000,
                            "maximum": 32767,
                        },
                        "externalTrafficPolicy": {"enum": ["", "Cluster", "Local"]},
                        "annotations": STRING_MAP,
                    }
                ),
                "httpRoute": closed(
                    {
                        "enabled": BOOLEAN,
                        "annotations": STRING_MAP,
                        "parentRefs": {
                            "type": "array",
                            "items": closed(
                                {
                                    "name": string(minLength=1),
                                    "namespace": string(),
                                    "sectionName": string(),
                                    "port": PORT,
                                },
                                required=["name"],
                            ),
                        },
                        "hostnames": {"type": "array", "items": string(minLength=1)},
                    }
                ),
                "ingress": closed(
                    {
                        "enabled": BOOLEAN,
                        "className": string(),
                        "annotations": STRING_MAP,
                        "hosts": {
                            "type": "array",
                            "items": closed(
                                {
                                    "host": string(),
                                    "paths": {
                                        "type": "array",
                                        "minItems": 1,
                                        "items": closed(
                                            {
                                                "path": string(pattern="^/"),
                                                "pathType": {
                                                    "enum": [
                                                        "Prefix",
                                                        "Exact",
                                                        "ImplementationSpecific",
                                                    ]
                                                },
                                            },
                                            required=["path", "pathType"],
                                        ),
                                    },
                                },
                                required=["paths"],
                            ),
                        },
                        "tls": {
                            "type": "array",
                            "items": closed(
                                {
                                    "secretName": string(),
                                    "hosts": {"type": "array", "items": string()},
                                }
                            ),
                        },
                    }
                ),
                "networkPolicy": closed(
                    {
                        "ingressFrom": NETWORK_POLICY_PEERS,
                        "extraIngress": NETWORK_POLICY_PEERS,
                        "extraEgress": K8S_LIST,
                    }
                ),
                # nginx's stub_status and the exporter sidecar (the gateway's /metrics).
                "metrics": closed(
                    {
                        "enabled": BOOLEAN,
                        "port": PORT,
                        "statusPort": PORT,
                        "image": IMAGE,
                        "resources": RESOURCES,
                        "serviceMonitor": METRICS["properties"]["serviceMonitor"],
                    },
                    required=["enabled", "port", "statusPort", "image", "resources"],
                ),
            },
            required=["resources", "autoscaling", "metrics"],
        ),
    }
    # Each service chart checks its own values; here only that a key is a known chart.
    subchart = {"type": "object", "properties": {"enabled": BOOLEAN}}
    umbrella = {
        "$schema": SCHEMA_DRAFT,
        "title": "Values of the Newsroom platform chart",
        **closed(
            {
                "global": GLOBAL,
                "users": subchart,
                "articles": subchart,
                "views": subchart,
                "gateway": subchart,
                "grafanaDashboard": closed({"enabled": BOOLEAN, "annotations": STRING_MAP}),
                "prometheusRule": closed(
                    {
                        "enabled": BOOLEAN,
                        "labels": STRING_MAP,
                        "errorRatio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                        "latencyP99Seconds": {"type": "number", "exclusiveMinimum": 0},
                        "consumerLag": integer(1),
                        "outboxAgeSeconds": integer(1),
                        "deadLettersPerHour": integer(0),
                        "for": DURATION,
                    }
                ),
            }
        ),
    }
    library = {
        "$schema": SCHEMA_DRAFT,
        "title": "newsroom-lib takes no values of its own: the charts using it pass theirs",
        **closed({"global": {"type": "object"}}),
    }
    return {
        "newsroom-lib": library,
        "users": users,
        "articles": articles,
        "views": views,
        "gateway": gateway,
        "newsroom": umbrella,
    }


def render(schema: Schema) -> str:
    """The file text of a schema (stable, so the drift test can compare bytes)."""
    return json.dumps(schema, indent=2) + "\n"


def main() -> int:
    for chart, schema in schemas().items():
        path = CHARTS / chart / "values.schema.json"
        path.write_text(render(schema))
        print(f"wrote {path.relative_to(CHARTS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
