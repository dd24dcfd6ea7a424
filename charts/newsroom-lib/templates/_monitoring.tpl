{{/*
Prometheus Operator scrape objects for one workload, when the chart's
metrics.serviceMonitor.enabled is true (off by default: the CRDs may not be installed).
A workload with a Service gets a ServiceMonitor; a relay or consumer has no Service (nothing
calls it), so it gets a PodMonitor on the same port instead of a Service made only for
scraping. Every workload serves /metrics on its "http" port, except where the facts name
a sidecar's port (scrapePortName: the gateway's exporter), scraped through a PodMonitor.
Usage: {{ include "newsroom-lib.monitor" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.monitor" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- $monitor := .ctx.Values.metrics.serviceMonitor -}}
{{- $scrapePort := include "newsroom-lib.scrapePort" . -}}
{{- if not $scrapePort -}}
{{- fail (printf "%s: metrics.serviceMonitor.enabled needs the metrics it scrapes (metrics.enabled)" .ctx.Chart.Name) -}}
{{- end -}}
{{- /* A sidecar's metrics port is never a Service port: a PodMonitor scrapes it. */}}
{{- $hasService := and (eq (toString $workload.service) "true") (not $workload.scrapePortName) -}}
{{- $portName := $workload.scrapePortName | default "http" -}}
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
    - port: {{ $portName }}
      path: /metrics
      interval: {{ $monitor.interval }}
      scrapeTimeout: {{ $monitor.scrapeTimeout }}
{{- end -}}
