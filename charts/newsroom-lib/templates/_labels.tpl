{{/*
Labels every object carries (app.kubernetes.io/* and helm.sh/chart), then commonLabels
(the chart's over global.commonLabels; never in selectors, which are immutable).
Usage: {{ include "newsroom-lib.labels.standard" (dict "ctx" $ "component" "api") | nindent 4 }}
       component may be "" for chart-wide objects (ConfigMap).
*/}}
{{- define "newsroom-lib.labels.standard" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "newsroom-lib.labels.matchLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: {{ include "newsroom-lib.names.platform" .ctx }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- $global := .ctx.Values.global | default dict }}
{{- with merge (deepCopy (.ctx.Values.commonLabels | default dict)) ($global.commonLabels | default dict) }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Selector labels: name and instance only, because selectors are immutable and must not
change with a version or chart bump.
Usage: {{ include "newsroom-lib.labels.matchLabels" (dict "ctx" $ "component" "api") | nindent 6 }}
*/}}
{{- define "newsroom-lib.labels.matchLabels" -}}
{{- if .component -}}
app.kubernetes.io/name: {{ include "newsroom-lib.names.app" . }}
{{- else -}}
app.kubernetes.io/name: {{ include "newsroom-lib.names.name" .ctx }}
{{- end }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end -}}

{{/*
Pods of another workload of the same platform, as a NetworkPolicy peer, selected by
app.kubernetes.io/name and part-of (not instance: skaffold installs each service as its
own release).
Usage: {{ include "newsroom-lib.labels.peer" (dict "ctx" $ "app" "gateway") | nindent 8 }}
*/}}
{{- define "newsroom-lib.labels.peer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: {{ .app }}
      app.kubernetes.io/part-of: {{ include "newsroom-lib.names.platform" .ctx }}
{{- end -}}
