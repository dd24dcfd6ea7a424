{{/*
Pod-level security context: the chart's podSecurityContext (by default non-root as the
images' uid 10001, group-owned volumes, seccomp RuntimeDefault) with the workload's own
podSecurityContext merged over it. Values, not constants, so that a platform assigning
its own uids (OpenShift's restricted SCC) nulls runAsUser/runAsGroup/fsGroup instead of
forking the chart. Empty when every key was nulled.
Usage: {{- with include "newsroom-lib.pod.securityContext" (dict "ctx" $ "values" $values) }}
*/}}
{{- define "newsroom-lib.pod.securityContext" -}}
{{- $merged := mergeOverwrite (deepCopy (.ctx.Values.podSecurityContext | default dict)) (deepCopy (.values.podSecurityContext | default dict)) -}}
{{- with $merged }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/*
Container security context: the chart's containerSecurityContext (by default no
privilege escalation, all capabilities dropped, a read-only root filesystem with only
/tmp, an emptyDir, writable) with the workload's own merged over it. devMode (the
skaffold dev profile) leaves the root filesystem writable so that file sync can update
sources.
Usage: {{- with include "newsroom-lib.container.securityContext" (dict "ctx" $ "values" $values) }}
*/}}
{{- define "newsroom-lib.container.securityContext" -}}
{{- $merged := mergeOverwrite (deepCopy (.ctx.Values.containerSecurityContext | default dict)) (deepCopy (.values.containerSecurityContext | default dict)) -}}
{{- if .ctx.Values.devMode }}{{ $_ := set $merged "readOnlyRootFilesystem" false }}{{ end -}}
{{- with $merged }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{/*
Where a pod may run: nodeSelector, tolerations and affinity of a workload's (or a hook
Job's) values, each only when set.
Usage: {{- include "newsroom-lib.pod.scheduling" $values | nindent 6 }}
*/}}
{{- define "newsroom-lib.pod.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Startup, liveness and readiness probes on the workload's HTTP port. Liveness is /healthz
(the process answers), on the workload's probe listener ("probes" port) when its facts
name a probePort (an API: gunicorn's master answers it while every request slot is busy,
so saturation never gets a healthy pod killed); readiness is the workload's readinessPath
(/readyz: database and Kafka reachable); startup gives a slow start a minute before liveness counts. A
workload's startupProbe/livenessProbe/readinessProbe values override the timings
(periodSeconds, timeoutSeconds, failureThreshold, successThreshold, initialDelaySeconds).
Usage: {{- include "newsroom-lib.container.probes" (dict "ctx" $ "component" "api") | nindent 10 }}
*/}}
{{- define "newsroom-lib.container.probes" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- $values := include "newsroom-lib.workloadValues" . | fromYaml -}}
{{- $liveness := $workload.livenessPath | default "/healthz" -}}
{{- $defaults := dict
  "startupProbe" (dict "path" $liveness "timing" (dict "periodSeconds" 2 "timeoutSeconds" 2 "failureThreshold" 30))
  "livenessProbe" (dict "path" $liveness "timing" (dict "periodSeconds" 10 "timeoutSeconds" 2 "failureThreshold" 3))
  "readinessProbe" (dict "path" ($workload.readinessPath | default "/readyz") "timing" (dict "periodSeconds" 5 "timeoutSeconds" 2 "failureThreshold" 3))
-}}
{{- range $name := list "startupProbe" "livenessProbe" "readinessProbe" }}
{{- $probe := index $defaults $name }}
{{ $name }}:
  httpGet:
    path: {{ $probe.path }}
    {{- /* Liveness on the workload's probe listener when it has one (never starved by traffic). */}}
    port: {{ ternary "probes" "http" (and (eq $name "livenessProbe") (not (empty $workload.probePort))) }}
  {{- toYaml (mergeOverwrite (deepCopy $probe.timing) (deepCopy (index $values $name | default dict))) | nindent 2 }}
{{- end }}
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
Volume mounts of a container: /tmp (emptyDir), the Secret files the chart's facts
mount into this component, and the workload's extraVolumeMounts.
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
{{- $values := include "newsroom-lib.workloadValues" . | fromYaml }}
{{- with $values.extraVolumeMounts }}
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Volumes of a pod, matching newsroom-lib.container.volumeMounts (extraVolumes last). A
secretVolume with "sources" is a projected volume of several Secrets in one directory.
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
    {{- if .sources }}
    projected:
      defaultMode: 0440
      sources:
        {{- range .sources }}
        - secret:
            name: {{ .secretName }}
            items:
              {{- toYaml .items | nindent 14 }}
        {{- end }}
    {{- else }}
    secret:
      secretName: {{ .secretName }}
      defaultMode: 0440
      {{- with .items }}
      items:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- end }}
{{- end }}
{{- end }}
{{- $values := include "newsroom-lib.workloadValues" . | fromYaml }}
{{- with $values.extraVolumes }}
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
