{{/*
The image reference: [registry/]repository:tag[@digest]. The registry is image.registry,
else global.imageRegistry; the tag defaults to the chart's appVersion. A digest, when
given, pins the exact image (recommended for production).
Usage: image: {{ include "newsroom-lib.image" . }}
*/}}
{{- define "newsroom-lib.image" -}}
{{- $global := .Values.global | default dict -}}
{{- $registry := .Values.image.registry | default $global.imageRegistry -}}
{{- $repository := .Values.image.repository -}}
{{- if $registry -}}
{{- $repository = printf "%s/%s" $registry $repository -}}
{{- end -}}
{{- $ref := printf "%s:%s" $repository (.Values.image.tag | default .Chart.AppVersion | toString) -}}
{{- if .Values.image.digest -}}
{{- $ref = printf "%s@%s" $ref .Values.image.digest -}}
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
