{{/*
The image reference: [registry/]repository:tag[@digest]. The registry is image.registry,
else global.imageRegistry; the tag defaults to the chart's appVersion. A digest, when
given, pins the exact image (recommended for production).
Usage: image: {{ include "newsroom-lib.image" . }}
*/}}
{{- define "newsroom-lib.image" -}}
{{- include "newsroom-lib.imageRef" (dict "ctx" . "image" .Values.image) -}}
{{- end -}}

{{/*
The reference of any image values block (registry, repository, tag, digest) of the chart,
with the same rules as newsroom-lib.image (e.g. a sidecar's image with its own tag).
Usage: image: {{ include "newsroom-lib.imageRef" (dict "ctx" $ "image" .Values.metrics.image) }}
*/}}
{{- define "newsroom-lib.imageRef" -}}
{{- $global := .ctx.Values.global | default dict -}}
{{- $registry := .image.registry | default $global.imageRegistry -}}
{{- $repository := .image.repository -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" $registry $repository -}}
{{- end -}}
{{- $ref := printf "%s:%s" $repository (.image.tag | default .ctx.Chart.AppVersion | toString) -}}
{{- if .image.digest -}}
{{- $ref = printf "%s@%s" $ref .image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
imagePullSecrets of a pod spec, when any are configured: global.imagePullSecrets (one
list for the whole installation) then the chart's own, without duplicates.
Usage: {{- include "newsroom-lib.imagePullSecrets" . | nindent 6 }}
*/}}
{{- define "newsroom-lib.imagePullSecrets" -}}
{{- $global := .Values.global | default dict -}}
{{- $secrets := concat ($global.imagePullSecrets | default list) (.Values.imagePullSecrets | default list) | uniq -}}
{{- with $secrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
