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
{{- range $app, $upstream := .Values.upstreams }}
{{- $host := $upstream.host | default (include "newsroom-lib.names.peerFullname" (dict "ctx" $ "chart" $app)) }}
{{ upper $app }}_UPSTREAM_SERVERS: {{ printf "server %s:%v;" $host $upstream.port | quote }}
{{- end }}
{{- end -}}
