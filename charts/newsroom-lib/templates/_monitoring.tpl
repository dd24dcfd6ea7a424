{{/*
Prometheus Operator scrape objects for one workload, when the chart's
metrics.serviceMonitor.enabled is true (off by default: the CRDs may not be installed).
A workload with a Service gets a ServiceMonitor; a relay or consumer has no Service (nothing
calls it), so it gets a PodMonitor on the same port instead of a Service made only for
scraping. Every workload serves /metrics on its "http" port.
Usage: {{ include "newsroom-lib.monitor" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.monitor" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- $monitor := .ctx.Values.metrics.serviceMonitor -}}
{{- $hasService := eq (toString $workload.service) "true" -}}
apiVersion: monitoring.coreos.com/v1
kind: {{ ternary "ServiceMonitor" "PodMonitor" $hasService }}
metadata:
  name: {{ include "newsroom-lib.names.workload" . }}
  namespace: {{ include "newsroom-lib.names.namespace" .ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
    {{- with $monitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "newsroom-lib.labels.matchLabels" . | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ include "newsroom-lib.names.namespace" .ctx }}
  {{ ternary "endpoints" "podMetricsEndpoints" $hasService }}:
    - port: http
      path: /metrics
      interval: {{ $monitor.interval }}
      scrapeTimeout: {{ $monitor.scrapeTimeout }}
{{- end -}}
