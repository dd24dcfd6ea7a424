{{/*
Names. Every Newsroom chart names its objects <platform>-<chart>[-<component>], where
<platform> is .Values.global.platform (default: the release name). The umbrella release
"newsroom" and the per-service skaffold releases (global.platform=newsroom) therefore give
the same names, which is what lets one chart find another (the users JWKS URL, the
gateway upstreams, NetworkPolicy peers) without knowing how it was installed.
*/}}

{{/*
The chart's short name (nameOverride or the chart name).
Usage: {{ include "newsroom-lib.names.name" . }}
*/}}
{{- define "newsroom-lib.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The platform name the charts of one installation share.
Usage: {{ include "newsroom-lib.names.platform" . }}
*/}}
{{- define "newsroom-lib.names.platform" -}}
{{- $global := .Values.global | default dict -}}
{{- default .Release.Name $global.platform | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The chart's full name: fullnameOverride, else <platform>-<name> (just <platform> when it
already contains the name).
Usage: {{ include "newsroom-lib.names.fullname" . }}
*/}}
{{- define "newsroom-lib.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "newsroom-lib.names.peerFullname" (dict "ctx" . "chart" (include "newsroom-lib.names.name" .)) -}}
{{- end -}}
{{- end -}}

{{/*
The full name another Newsroom chart of the same platform gets (e.g. "newsroom-users").
Usage: {{ include "newsroom-lib.names.peerFullname" (dict "ctx" $ "chart" "users") }}
*/}}
{{- define "newsroom-lib.names.peerFullname" -}}
{{- $platform := include "newsroom-lib.names.platform" .ctx -}}
{{- if contains .chart $platform -}}
{{- $platform | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $platform .chart | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Whether a component is the chart's primary workload (the one named after the chart).
Usage: {{ if eq (include "newsroom-lib.names.isPrimary" (dict "ctx" $ "component" "api")) "true" }}
*/}}
{{- define "newsroom-lib.names.isPrimary" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- eq $facts.primary .component -}}
{{- end -}}

{{/*
A workload's object name: the full name for the primary workload, <fullname>-<component>
for the others (e.g. "newsroom-views" and "newsroom-views-consumer").
Usage: {{ include "newsroom-lib.names.workload" (dict "ctx" $ "component" "consumer") }}
*/}}
{{- define "newsroom-lib.names.workload" -}}
{{- $fullname := include "newsroom-lib.names.fullname" .ctx -}}
{{- if eq (include "newsroom-lib.names.isPrimary" .) "true" -}}
{{- $fullname -}}
{{- else -}}
{{- printf "%s-%s" $fullname .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
A workload's app.kubernetes.io/name: the chart name for the primary workload,
<name>-<component> for the others. Distinct per workload, so that selectors made of
name and instance alone never overlap between two Deployments of one release.
Usage: {{ include "newsroom-lib.names.app" (dict "ctx" $ "component" "relay") }}
*/}}
{{- define "newsroom-lib.names.app" -}}
{{- $name := include "newsroom-lib.names.name" .ctx -}}
{{- if eq (include "newsroom-lib.names.isPrimary" .) "true" -}}
{{- $name -}}
{{- else -}}
{{- printf "%s-%s" $name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
The namespace every object is created in.
Usage: namespace: {{ include "newsroom-lib.names.namespace" . }}
*/}}
{{- define "newsroom-lib.names.namespace" -}}
{{- .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The facts a chart states about its image (workloads, commands, ports), read from the
"<chart>.facts" define each chart that uses this library provides (see _facts.tpl there).
Usage: {{ $facts := include "newsroom-lib.facts" . | fromYaml }}
*/}}
{{- define "newsroom-lib.facts" -}}
{{- include (printf "%s.facts" .Chart.Name) . -}}
{{- end -}}

{{/*
The values of one workload: .Values.<component>, or the top level when the chart's facts
say valuesAtTop (the gateway, a one-workload chart).
Usage: {{ $values := include "newsroom-lib.workloadValues" (dict "ctx" $ "component" "api") | fromYaml }}
*/}}
{{- define "newsroom-lib.workloadValues" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- if $workload.valuesAtTop -}}
{{- toYaml .ctx.Values -}}
{{- else -}}
{{- toYaml (index .ctx.Values .component) -}}
{{- end -}}
{{- end -}}
