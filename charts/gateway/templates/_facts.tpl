{{/*
What the gateway image is, as the library reads it. Its values sit at the top level
(valuesAtTop): the chart has one workload.
*/}}
{{- define "gateway.facts" -}}
envPrefix: ""
primary: gateway
# Request bodies up to client_max_body_size are buffered under GATEWAY_RUN_DIR (/tmp).
tmpSizeLimit: 256Mi
workloads:
  gateway:
    kind: gateway
    valuesAtTop: true
    port: 8080
    service: true
    livenessPath: /healthz
    # The gateway is ready when nginx answers: an upstream that is down is answered with
    # JSON 502/503 by the gateway itself, and must not take the public door out of the
    # Service.
    readinessPath: /healthz
    ingressFrom: ["*"]
    egress: [services]
    # nginx finishes in-flight requests on SIGQUIT; the image's STOPSIGNAL is SIGQUIT.
    terminationGracePeriodSeconds: 30
    # /metrics is the exporter sidecar's (gateway.metricsSidecar), not nginx's: the scrape
    # annotations point at it, and nothing is scraped with metrics off.
    scrapePort: {{ if .Values.metrics.enabled }}{{ .Values.metrics.port }}{{ else }}null{{ end }}
    scrapePortName: metrics
    sidecarsTemplate: gateway.metricsSidecar
secretVolumes: []
{{- end -}}

{{/*
The placeholders of gateway/nginx.conf.template (environment variable -> value), which
the nginx image's entrypoint substitutes at start.
*/}}
{{- define "gateway.config" -}}
{{- $limits := .Values.rateLimit -}}
GATEWAY_LISTEN: "8080"
GATEWAY_WORKER_PROCESSES: {{ .Values.workerProcesses | quote }}
GATEWAY_RUN_DIR: /tmp
GATEWAY_ACCESS_LOG: /dev/stdout
GATEWAY_RATE_LIMIT: {{ printf "%vr/s" $limits.perSecond | quote }}
GATEWAY_RATE_BURST: {{ $limits.burst | quote }}
GATEWAY_AUTH_RATE_LIMIT: {{ printf "%vr/m" $limits.authPerMinute | quote }}
GATEWAY_AUTH_RATE_BURST: {{ $limits.authBurst | quote }}
{{- /* One slot of the login/registration zone frees every 60/rate seconds, rounded up. */}}
GATEWAY_AUTH_RETRY_AFTER: {{ div (add 59 $limits.authPerMinute) $limits.authPerMinute | quote }}
{{- $origins := list }}
{{- /* As the devstack writes them: "origin" 1; per line (the schema keeps quotes out). */}}
{{- range .Values.cors.origins }}{{ $origins = append $origins (printf "\"%s\" 1;" .) }}{{ end }}
GATEWAY_CORS_ORIGINS: {{ join "\n" $origins | quote }}
GATEWAY_CACHE: {{ ternary "newsroom_cache" "off" .Values.cache.enabled | quote }}
{{- $proxies := list }}
{{- range .Values.trustedProxies }}{{ $proxies = append $proxies (printf "set_real_ip_from %s;" .) }}{{ end }}
GATEWAY_TRUSTED_PROXIES: {{ join "\n" $proxies | quote }}
{{- /* The image's entrypoint adds the stub_status server when this is set (gateway/status.conf.template). */}}
GATEWAY_STATUS_LISTEN: {{ ternary (printf "127.0.0.1:%v" .Values.metrics.statusPort) "" .Values.metrics.enabled | quote }}
{{- /*
Each upstream is one address, the service's ClusterIP, listed twice: nginx tries another
server of the group (never the same one again) when a connection fails, and kube-proxy picks
a pod per connection, so the second entry is a fresh connection to a fresh pick. Without it a
connection that reaches a pod as it leaves (endpoint changes reach the node's rules a moment
later; a reused source port can follow a stale conntrack entry) is a 503. max_fails=0: one
pod failing must not take the whole Service out of the group.
*/}}
{{- range $app, $upstream := .Values.upstreams }}
{{- $host := $upstream.host | default (include "newsroom-lib.names.peerFullname" (dict "ctx" $ "chart" $app)) }}
{{- $server := printf "server %s:%v max_fails=0;" $host $upstream.port }}
{{ upper $app }}_UPSTREAM_SERVERS: {{ printf "%s\n%s" $server $server | quote }}
{{- end }}
{{- end -}}


{{/*
The metrics sidecar: the official nginx-prometheus-exporter reading nginx's stub_status on
the pod's loopback and serving nginx_* metrics on its "metrics" port; hardened like the
gateway (the chart's container security context), with its own small resources.
*/}}
{{- define "gateway.metricsSidecar" -}}
{{- if .Values.metrics.enabled }}
{{- $metrics := .Values.metrics }}
- name: metrics-exporter
  image: {{ include "newsroom-lib.imageRef" (dict "ctx" . "image" $metrics.image) | quote }}
  imagePullPolicy: {{ $metrics.image.pullPolicy }}
  args:
    - --nginx.scrape-uri=http://127.0.0.1:{{ $metrics.statusPort }}/stub_status
    - --web.listen-address=:{{ $metrics.port }}
    - --web.telemetry-path=/metrics
  ports:
    - name: metrics
      containerPort: {{ $metrics.port }}
      protocol: TCP
  # The exporter answers /metrics even while nginx is down (nginx_up 0), so these probe
  # the exporter itself, never the gateway's health.
  livenessProbe:
    httpGet:
      path: /metrics
      port: metrics
    periodSeconds: 20
    timeoutSeconds: 5
  readinessProbe:
    httpGet:
      path: /metrics
      port: metrics
    periodSeconds: 10
    timeoutSeconds: 5
  resources:
    {{- toYaml $metrics.resources | nindent 4 }}
  {{- with include "newsroom-lib.container.securityContext" (dict "ctx" . "values" dict) }}
  securityContext:
    {{- . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}
