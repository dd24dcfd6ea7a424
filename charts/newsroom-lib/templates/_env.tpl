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
Usage: {{- include "newsroom-lib.env.secrets" . | nindent 12 }}
*/}}
{{- define "newsroom-lib.env.secrets" -}}
{{- $facts := include "newsroom-lib.facts" . | fromYaml -}}
{{- if $facts.envPrefix }}
- name: {{ $facts.envPrefix }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required" .Values.database.existingSecret }}
      key: {{ required "database.existingSecretKey is required" .Values.database.existingSecretKey }}
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
