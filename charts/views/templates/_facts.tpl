{{/*
What the views image is (the runtime contract of services/views), as the library reads
it: one place for commands, ports, health paths and consumed topics. See newsroom-lib
"newsroom-lib.facts".
*/}}
{{- define "views.facts" -}}
envPrefix: VIEWS
module: newsroom_views
cli: newsroom-views
primary: api
tmpSizeLimit: 64Mi
workloads:
  api:
    kind: api
    command: [gunicorn, -c, "python:newsroom_views.entrypoints.gunicorn_conf"]
    port: 8003
    # Liveness, from gunicorn's master beside the request workers: busy gthread slots
    # never starve it (newsroom_common.gunicorn_config).
    probePort: 9091
    service: true
    livenessPath: /healthz
    readinessPath: /readyz
    ingressFrom: [gateway]
    # Its routes are public reads: it verifies no token, so it never calls users.
    egress: [database, kafka]
  consumer:
    kind: worker
    command: [newsroom-views, consume]
    port: 9090
    livenessPath: /healthz
    readinessPath: /readyz
    ingressFrom: []
    egress: [database, kafka]
    # The topics and consumer groups of newsroom_views.topics, with the partition counts
    # their owners declare (newsroom_<owner>.topics.TOPICS): more consumer replicas than
    # the largest topic's partitions would idle, so rendering fails past them.
    consumes:
      - topic: articles.views.v1
        partitions: 12
        group: views-ingest
      - topic: articles.events.v1
        partitions: 6
        group: views-articles-replica
      - topic: users.events.v1
        partitions: 6
        group: views-users-replica
secretVolumes: []
{{- end -}}

{{/*
The views service's settings (environment variable -> value) for its ConfigMap.
*/}}
{{- define "views.config" -}}
{{ include "newsroom-lib.env.serviceConfig" . }}
{{- end -}}
