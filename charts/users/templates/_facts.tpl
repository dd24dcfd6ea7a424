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
    # Liveness, from gunicorn's master beside the request workers: busy gthread slots
    # never starve it (newsroom_common.gunicorn_config).
    probePort: 9091
    service: true
    livenessPath: /healthz
    readinessPath: /readyz
    # The gateway, and articles for the JWKS and its profile fallback (views verifies no
    # token: it never calls users).
    ingressFrom: [gateway, articles]
    egress: [database, kafka]
  relay:
    kind: worker
    command: [newsroom-users, relay]
    # One relay works at a time (it holds the outbox's advisory lock; the others wait to
    # take over): a fixed replica count, never an HPA. It LISTENs for new rows, which
    # needs a session of its own, so it never goes through a transaction pooler.
    singleActive: true
    needsSession: true
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
{{- with .Values.jwt.previousKeys }}
  # The public keys of earlier signing keys, one file each in one directory: tokens they
  # signed still verify (and stay in the JWKS) until they expire.
  - name: jwt-previous-keys
    components: [api]
    mountPath: /var/run/secrets/newsroom/jwt-previous
    sources:
      {{- range $index, $key := . }}
      - secretName: {{ $key.existingSecret }}
        items:
          - key: {{ $key.existingSecretKey | default "public-key.pem" }}
            path: {{ printf "%02d-%s.pem" $index $key.existingSecret }}
      {{- end }}
{{- end }}
{{- end -}}

{{/*
The users service's settings (environment variable -> value) for its ConfigMap.
*/}}
{{- define "users.config" -}}
{{ include "newsroom-lib.env.serviceConfig" . }}
USERS_JWT_PRIVATE_KEY_FILE: /var/run/secrets/newsroom/jwt/private-key.pem
USERS_JWT_TTL_SECONDS: {{ .Values.jwt.ttlSeconds | quote }}
USERS_FOLLOW_READERS: {{ join "," .Values.followVisibility.readers | quote }}
USERS_FOLLOW_VISIBLE_TIMEOUT_SECONDS: {{ .Values.followVisibility.timeoutSeconds | quote }}
{{- if .Values.jwt.previousKeys }}
USERS_JWT_PREVIOUS_PUBLIC_KEYS_FILE: /var/run/secrets/newsroom/jwt-previous
{{- end }}
{{- end -}}
