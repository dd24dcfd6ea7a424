{{/*
Pod-level security context: non-root (the images' uid 10001), group-owned volumes,
seccomp RuntimeDefault.
Usage: securityContext: {{- include "newsroom-lib.pod.securityContext" . | nindent 8 }}
*/}}
{{- define "newsroom-lib.pod.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Container security context: no privilege escalation, all capabilities dropped, and a
read-only root filesystem (only /tmp, an emptyDir, is writable). devMode (the skaffold
dev profile) leaves the root filesystem writable so that file sync can update sources.
Usage: securityContext: {{- include "newsroom-lib.container.securityContext" . | nindent 12 }}
*/}}
{{- define "newsroom-lib.container.securityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: {{ not .Values.devMode }}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Startup, liveness and readiness probes on the workload's HTTP port. Liveness is /healthz
(the process answers); readiness is the workload's readinessPath (/readyz: database and
Kafka reachable); startup gives a slow start a minute before liveness counts.
Usage: {{- include "newsroom-lib.container.probes" (dict "ctx" $ "component" "api") | nindent 10 }}
*/}}
{{- define "newsroom-lib.container.probes" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
startupProbe:
  httpGet:
    path: {{ $workload.livenessPath | default "/healthz" }}
    port: http
  periodSeconds: 2
  timeoutSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet:
    path: {{ $workload.livenessPath | default "/healthz" }}
    port: http
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: {{ $workload.readinessPath | default "/readyz" }}
    port: http
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 3
{{- end -}}

{{/*
Topology spread across zones and nodes for one workload. ScheduleAnyway by default, so a
single-node dev cluster still schedules; matchLabelKeys keeps a rollout's old pods out of
the count.
Usage: {{- include "newsroom-lib.pod.topologySpread" (dict "ctx" $ "component" "api") | nindent 6 }}
*/}}
{{- define "newsroom-lib.pod.topologySpread" -}}
{{- if .ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
{{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: 1
    topologyKey: {{ $key }}
    whenUnsatisfiable: {{ $.ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "newsroom-lib.labels.matchLabels" $ | nindent 8 }}
    matchLabelKeys:
      - pod-template-hash
{{- end }}
{{- end }}
{{- end -}}

{{/*
Volume mounts of a container: /tmp (emptyDir) and the Secret files the chart's facts
mount into this component.
Usage: {{- include "newsroom-lib.container.volumeMounts" (dict "ctx" $ "component" "api") | nindent 10 }}
*/}}
{{- define "newsroom-lib.container.volumeMounts" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- range $facts.secretVolumes }}
{{- if has $.component .components }}
  - name: {{ .name }}
    mountPath: {{ .mountPath }}
    readOnly: true
{{- end }}
{{- end }}
{{- end -}}

{{/*
Volumes of a pod, matching newsroom-lib.container.volumeMounts.
Usage: {{- include "newsroom-lib.pod.volumes" (dict "ctx" $ "component" "api") | nindent 6 }}
*/}}
{{- define "newsroom-lib.pod.volumes" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ $facts.tmpSizeLimit | default "64Mi" }}
{{- range $facts.secretVolumes }}
{{- if has $.component .components }}
  - name: {{ .name }}
    secret:
      secretName: {{ .secretName }}
      defaultMode: 0440
      {{- with .items }}
      items:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
{{- end }}
{{- end -}}
