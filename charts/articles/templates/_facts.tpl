{{/*
What the articles image is (the runtime contract of services/articles), as the library
reads it: one place for commands, ports, health paths and consumed topics. See
newsroom-lib "newsroom-lib.facts".
*/}}
{{- define "articles.facts" -}}
envPrefix: ARTICLES
module: newsroom_articles
cli: newsroom-articles
primary: api
tmpSizeLimit: 64Mi
workloads:
  api:
    kind: api
    command: [gunicorn, -c, "python:newsroom_articles.entrypoints.gunicorn_conf"]
    # Its read cache PREPAREs a statement once per connection (newsroom_articles.adapters.
    # read_cache) and EXECUTEs it later: a session-level object, lost behind PgBouncer's
    # transaction pooling, so the API keeps the direct URL even with database.pooler.
    needsSession: true
    port: 8002
    # Liveness, from gunicorn's master beside the request workers: busy gthread slots
    # never starve it (newsroom_common.gunicorn_config).
    probePort: 9091
    service: true
    livenessPath: /healthz
    readinessPath: /readyz
    ingressFrom: [gateway]
    # users: JWKS and the profile fallback; kafka: ArticleViewed is produced on reads.
    egress: [database, kafka, users]
  relay:
    kind: worker
    command: [newsroom-articles, relay]
    # One relay works at a time (it holds the outbox's advisory lock; the others wait to
    # take over): a fixed replica count, never an HPA. It LISTENs for new rows, which
    # needs a session of its own, so it never goes through a transaction pooler.
    singleActive: true
    needsSession: true
    port: 9090
    livenessPath: /healthz
    readinessPath: /readyz
    ingressFrom: []
    egress: [database, kafka]
  consumer:
    kind: worker
    command: [newsroom-articles, consume]
    port: 9090
    livenessPath: /healthz
    readinessPath: /readyz
    ingressFrom: []
    egress: [database, kafka]
    # users.events.v1 feeds the author profile and follow replica (group from
    # newsroom_articles.topics); its partition count (newsroom_users.topics.TOPICS) bounds
    # the consumer's replicas.
    consumes:
      - topic: users.events.v1
        partitions: 6
        group: articles-users-replica
secretVolumes: []
{{- end -}}

{{/*
The articles service's settings (environment variable -> value) for its ConfigMap.
*/}}
{{- define "articles.config" -}}
{{- $users := .Values.usersService.host | default (include "newsroom-lib.names.peerFullname" (dict "ctx" . "chart" "users")) -}}
{{ include "newsroom-lib.env.serviceConfig" . }}
ARTICLES_USERS_URL: {{ printf "http://%s:%v" $users .Values.usersService.port | quote }}
ARTICLES_JWKS_URL: {{ printf "http://%s:%v/.well-known/jwks.json" $users .Values.usersService.port | quote }}
{{- end -}}
