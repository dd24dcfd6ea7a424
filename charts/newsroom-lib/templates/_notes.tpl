{{/*
The NOTES.txt of a service chart: where its API answers and how to check it. Its routes
are public only through the Newsroom gateway.
Usage: {{ include "newsroom-lib.notes.service" (dict "ctx" $ "routes" "/api/tags, /api/articles*") }} (in a chart's templates/NOTES.txt)
*/}}
{{- define "newsroom-lib.notes.service" -}}
{{- $ctx := .ctx -}}
{{- $facts := include "newsroom-lib.facts" $ctx | fromYaml -}}
{{- $fullname := include "newsroom-lib.names.fullname" $ctx -}}
{{- $port := $facts.workloads.api.port -}}
{{ $fullname }} is installed in namespace {{ $ctx.Release.Namespace }}.

Its API answers inside the cluster at http://{{ $fullname }}.{{ $ctx.Release.Namespace }}:{{ $port }}
and to the world only through the Newsroom gateway ({{ .routes }}): its
NetworkPolicy admits {{ join ", " $facts.workloads.api.ingressFrom }} only.

Check it:
  kubectl -n {{ $ctx.Release.Namespace }} get deploy,hpa,pdb -l app.kubernetes.io/instance={{ $ctx.Release.Name }}
  kubectl -n {{ $ctx.Release.Namespace }} port-forward svc/{{ $fullname }} {{ $port }}:{{ $port }}
  curl http://127.0.0.1:{{ $port }}/readyz
{{- end -}}
