{{/*
What the users image is (the runtime contract of services/users), as the library reads
it: one place for commands, ports and health paths. See newsroom-lib "newsroom-lib.facts".
*/}}
{{- define "users.facts" -}}
envPrefix: USERS
module: newsroom_users
cli: newsroom-users
primary: api
tmpSizeLimit: 64Mi
workloads:
  api:
    kind: api
    command: [gunicorn, -c, "python:newsroom_users.entrypoints.gunicorn_conf"]
    port: 8001
    service: true
    livenessPath: /healthz
    readinessPath: /readyz
    # The gateway, and articles and views for the JWKS (and articles' profile fallback).
    ingressFrom: [gateway, articles, views]
    egress: [database, kafka]
  relay:
    kind: worker
    command: [newsroom-users, relay]
    port: 9090
    livenessPath: /healthz
    readinessPath: /readyz
    ingressFrom: []
    egress: [database, kafka]
secretVolumes:
  - name: jwt-signing-key
    components: [api]
    mountPath: /var/run/secrets/newsroom/jwt
    secretName: {{ required "jwt.existingSecret is required" .Values.jwt.existingSecret }}
    items:
      - key: {{ .Values.jwt.existingSecretKey }}
        path: private-key.pem
{{- end -}}

{{/*
The users service's settings (environment variable -> value) for its ConfigMap.
*/}}
{{- define "users.config" -}}
{{ include "newsroom-lib.env.serviceConfig" . }}
USERS_JWT_PRIVATE_KEY_FILE: /var/run/secrets/newsroom/jwt/private-key.pem
USERS_JWT_TTL_SECONDS: {{ .Values.jwt.ttlSeconds | quote }}
{{- end -}}
