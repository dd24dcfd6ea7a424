{{/*
A workload's NetworkPolicy: default deny both ways, then
- ingress on its HTTP port only from the apps its facts list in ingressFrom (the gateway
  for the APIs; articles and views for the users JWKS), or from anywhere for "*" (the
  gateway, unless networkPolicy.ingressFrom narrows it), plus networkPolicy.extraIngress
  (e.g. a Prometheus namespace), which also reaches a metrics sidecar's port (facts'
  scrapePortName);
- egress to DNS, and to what its facts list in egress: its own database, Kafka, the users
  API (JWKS, profiles), the service APIs (gateway), the OpenTelemetry collector.
Usage: {{ include "newsroom-lib.networkPolicy" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.networkPolicy" -}}
{{- $ctx := .ctx -}}
{{- $facts := include "newsroom-lib.facts" $ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- $global := $ctx.Values.global -}}
{{- $np := $ctx.Values.networkPolicy | default dict -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "newsroom-lib.names.workload" . }}
  namespace: {{ include "newsroom-lib.names.namespace" $ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "newsroom-lib.labels.matchLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  {{- if not (or $workload.ingressFrom $np.extraIngress) }}
  ingress: []
  {{- else }}
  ingress:
    {{- if has "*" $workload.ingressFrom }}
    - ports:
        - port: http
          protocol: TCP
      {{- with $np.ingressFrom }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- else if or $workload.ingressFrom $np.extraIngress }}
    - ports:
        - port: http
          protocol: TCP
      from:
        {{- range $workload.ingressFrom }}
        {{- include "newsroom-lib.labels.peer" (dict "ctx" $ctx "app" .) | nindent 8 }}
        {{- end }}
        {{- with $np.extraIngress }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    {{- end }}
    {{- /* A metrics sidecar's own port (the gateway's exporter): for extraIngress only. */}}
    {{- if and $workload.scrapePortName $np.extraIngress }}
    - ports:
        - port: {{ $workload.scrapePortName }}
          protocol: TCP
      from:
        {{- toYaml $np.extraIngress | nindent 8 }}
    {{- end }}
  {{- end }}
  egress:
    {{- include "newsroom-lib.networkPolicy.dnsEgress" $ctx | nindent 4 }}
    {{- if has "database" $workload.egress }}
    - ports:
        - port: {{ $ctx.Values.database.port }}
          protocol: TCP
      to:
        {{- toYaml (required "database.networkPolicyPeers is required" $ctx.Values.database.networkPolicyPeers) | nindent 8 }}
    {{- $pooler := $ctx.Values.database.pooler | default dict }}
    {{- if and $pooler.enabled (not $workload.needsSession) }}
    - ports:
        - port: {{ $pooler.port }}
          protocol: TCP
      to:
        {{- toYaml (required "database.pooler.networkPolicyPeers is required" $pooler.networkPolicyPeers) | nindent 8 }}
    {{- end }}
    {{- end }}
    {{- if has "kafka" $workload.egress }}
    - ports:
        - port: {{ $global.kafka.port }}
          protocol: TCP
      to:
        {{- toYaml (required "global.kafka.networkPolicyPeers is required" $global.kafka.networkPolicyPeers) | nindent 8 }}
    {{- end }}
    {{- if has "users" $workload.egress }}
    - ports:
        - port: {{ $ctx.Values.usersService.port }}
          protocol: TCP
      to:
        {{- include "newsroom-lib.labels.peer" (dict "ctx" $ctx "app" "users") | nindent 8 }}
    {{- end }}
    {{- if has "services" $workload.egress }}
    {{- range $app, $upstream := $ctx.Values.upstreams }}
    - ports:
        - port: {{ $upstream.port }}
          protocol: TCP
      to:
        {{- include "newsroom-lib.labels.peer" (dict "ctx" $ctx "app" $app) | nindent 8 }}
    {{- end }}
    {{- end }}
    {{- $otel := $global.otel | default dict }}
    {{- if and $otel.endpoint $otel.networkPolicyPeers }}
    - ports:
        - port: {{ $otel.port }}
          protocol: TCP
      to:
        {{- toYaml $otel.networkPolicyPeers | nindent 8 }}
    {{- end }}
    {{- with $np.extraEgress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}


{{/*
The egress rule to cluster DNS: global.networkPolicy.dnsPort (53; OpenShift's DNS pods
listen on 5353) over UDP and TCP, to global.networkPolicy.dnsPeers (kube-dns in
kube-system by default; another namespace or label is a dnsPeers change).
Usage: {{- include "newsroom-lib.networkPolicy.dnsEgress" $ | nindent 4 }}
*/}}
{{- define "newsroom-lib.networkPolicy.dnsEgress" -}}
{{- $np := .Values.global.networkPolicy -}}
- ports:
    - port: {{ $np.dnsPort | default 53 }}
      protocol: UDP
    - port: {{ $np.dnsPort | default 53 }}
      protocol: TCP
  to:
    {{- toYaml $np.dnsPeers | nindent 4 }}
{{- end -}}
