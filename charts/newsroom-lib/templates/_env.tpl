{{/*
The settings every Python service reads, as environment variable -> value (the ConfigMap
data and the hook Jobs' env both come from here, so they cannot drift apart). Names follow
newsroom_common.config: <PREFIX>_<field>, except KAFKA_BOOTSTRAP_SERVERS and
OTEL_EXPORTER_OTLP_ENDPOINT, which every service shares.
Usage: {{ include "newsroom-lib.env.serviceConfig" . }} (inside a chart's "<chart>.config")
*/}}
{{- define "newsroom-lib.env.serviceConfig" -}}
{{- $facts := include "newsroom-lib.facts" . | fromYaml -}}
{{- $p := $facts.envPrefix -}}
KAFKA_BOOTSTRAP_SERVERS: {{ .Values.global.kafka.bootstrapServers | quote }}
{{ $p }}_LOG_LEVEL: {{ .Values.logLevel | quote }}
{{ $p }}_DB_POOL_SIZE: {{ .Values.database.poolSize | quote }}
{{ $p }}_DB_MAX_OVERFLOW: {{ .Values.database.maxOverflow | quote }}
{{- with .Values.global.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
{{- end -}}

{{/*
The chart's configuration as environment variable -> value: the "<chart>.config" define
of the chart, rendered to a map.
Usage: {{ $config := include "newsroom-lib.env.config" . | fromYaml }}
*/}}
{{- define "newsroom-lib.env.config" -}}
{{- include (printf "%s.config" .Chart.Name) . -}}
{{- end -}}

{{/*
A ConfigMap holding the chart's configuration; workloads load it with envFrom and roll
when it changes (checksum/config annotation).
Usage: {{ include "newsroom-lib.configmap" . }}
*/}}
{{- define "newsroom-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "newsroom-lib.names.fullname" . }}-config
  namespace: {{ include "newsroom-lib.names.namespace" . }}
  labels:
    {{- include "newsroom-lib.labels.standard" (dict "ctx" . "component" "") | nindent 4 }}
data:
  {{- include "newsroom-lib.env.config" . | nindent 2 }}
{{- end -}}

{{/*
Environment variables that come from existing Secrets: the database URL (services) and
whatever the chart's facts list under secretEnv. Never from plain values.
With database.pooler.enabled, workloads that are safe behind PgBouncer's transaction
pooling (psycopg2 prepares nothing at the protocol level, and the services' advisory
locks are transaction-scoped) get a URL naming the pooler, composed by
Kubernetes ($(VAR) expansion) from the user, password and database keys of the same
Secret (CloudNativePG's <cluster>-app Secret has them, and its generated passwords are
letters and digits, safe inside a URL; a password with URL-reserved characters needs a
URL Secret of its own instead of the pooler option). Workloads whose facts say
needsSession (the relays LISTEN for outbox notifications; the articles API PREPAREs a
statement per connection) and the hook Jobs (component
"migrate"/"topics": DDL and its locks) keep the direct URL.
Usage: {{- include "newsroom-lib.env.secrets" (dict "ctx" $ "component" "api") | nindent 12 }}
*/}}
{{- define "newsroom-lib.env.secrets" -}}
{{- $ctx := .ctx -}}
{{- $facts := include "newsroom-lib.facts" $ctx | fromYaml -}}
{{- if $facts.envPrefix }}
{{- $p := $facts.envPrefix }}
{{- $database := $ctx.Values.database }}
{{- $secret := required "database.existingSecret is required" $database.existingSecret }}
{{- $workload := index $facts.workloads .component | default dict }}
{{- $pooler := $database.pooler | default dict }}
{{- if and $pooler.enabled (hasKey $facts.workloads .component) (not $workload.needsSession) }}
{{- range $name, $key := dict "USER" $pooler.usernameKey "PASSWORD" $pooler.passwordKey "NAME" $pooler.databaseKey }}
- name: NEWSROOM_POOLER_DB_{{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
- name: {{ $p }}_DATABASE_URL
  value: {{ printf "postgresql://$(NEWSROOM_POOLER_DB_USER):$(NEWSROOM_POOLER_DB_PASSWORD)@%s:%v/$(NEWSROOM_POOLER_DB_NAME)" (required "database.pooler.host is required when database.pooler.enabled" $pooler.host) $pooler.port | quote }}
{{- else }}
- name: {{ $p }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ required "database.existingSecretKey is required" $database.existingSecretKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Environment variables of one workload beyond the ConfigMap: how the process serves
(bind address, gunicorn workers and threads, the worker HTTP port) and extraEnv.
Usage: {{- include "newsroom-lib.env.workload" (dict "ctx" $ "component" "api") | nindent 12 }}
*/}}
{{- define "newsroom-lib.env.workload" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- $values := include "newsroom-lib.workloadValues" . | fromYaml -}}
{{- $p := $facts.envPrefix -}}
{{- if eq $workload.kind "api" }}
- name: {{ $p }}_BIND
  value: {{ printf "0.0.0.0:%v" $workload.port | quote }}
- name: {{ $p }}_WORKERS
  value: {{ $values.workers | quote }}
- name: {{ $p }}_THREADS
  value: {{ $values.threads | quote }}
{{- with $workload.probePort }}
- name: {{ $p }}_PROBE_PORT
  value: {{ . | quote }}
{{- end }}
{{- if .ctx.Values.devMode }}
- name: {{ $p }}_RELOAD
  value: "1"
{{- end }}
{{- else if eq $workload.kind "worker" }}
- name: {{ $p }}_WORKER_HTTP_PORT
  value: {{ $workload.port | quote }}
{{- end }}
{{- with $values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
