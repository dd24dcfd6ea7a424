{{/*
Every long-running workload of a chart, one per entry of the chart's facts.workloads:
its ServiceAccount, Deployment, HPA (or KEDA ScaledObject), PodDisruptionBudget,
NetworkPolicy, when the facts say so its Service, and when asked its ServiceMonitor.
Usage: {{ include "newsroom-lib.workloads" . }} (in a chart's templates/workloads.yaml)
*/}}
{{- define "newsroom-lib.workloads" -}}
{{- include "newsroom-lib.validate" . -}}
{{- $facts := include "newsroom-lib.facts" . | fromYaml -}}
{{- range $component := keys $facts.workloads | sortAlpha }}
{{- $args := dict "ctx" $ "component" $component }}
{{- $account := $.Values.serviceAccount | default dict }}
{{- if and $account.create (or (not $account.name) (eq $component $facts.primary)) }}
---
{{ include "newsroom-lib.serviceAccount" $args }}
{{- end }}
---
{{ include "newsroom-lib.deployment" $args }}
{{- $values := include "newsroom-lib.workloadValues" $args | fromYaml }}
{{- if eq (include "newsroom-lib.autoscaled" $args) "true" }}
{{- if and $values.keda $values.keda.enabled }}
---
{{ include "newsroom-lib.scaledObject" $args }}
{{- else }}
---
{{ include "newsroom-lib.hpa" $args }}
{{- end }}
{{- end }}
{{- if $values.podDisruptionBudget.enabled }}
---
{{ include "newsroom-lib.pdb" $args }}
{{- end }}
{{- if (index $facts.workloads $component).service }}
---
{{ include "newsroom-lib.service" $args }}
{{- end }}
{{- if $.Values.global.networkPolicy.enabled }}
---
{{ include "newsroom-lib.networkPolicy" $args }}
{{- end }}
{{- if and $.Values.metrics $.Values.metrics.serviceMonitor.enabled }}
---
{{ include "newsroom-lib.monitor" $args }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
"true" when an autoscaler (HPA or KEDA) owns the workload's replica count: its
autoscaling.enabled is set, and it is not a single-active workload. A single-active
workload (facts.workloads.<c>.singleActive, e.g. an outbox relay: one replica holds the
advisory lock and works, the others wait to take over) has no autoscaling values at all:
more replicas add standbys, never throughput, so CPU-driven scaling would only waste pods.
Usage: {{ if eq (include "newsroom-lib.autoscaled" (dict "ctx" $ "component" "api")) "true" }}
*/}}
{{- define "newsroom-lib.autoscaled" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- $values := include "newsroom-lib.workloadValues" . | fromYaml -}}
{{- and (not $workload.singleActive) (dig "autoscaling" "enabled" false $values) -}}
{{- end -}}

{{/*
The ServiceAccount name a workload runs as: serviceAccount.name when set (one account for
the chart's workloads, created here when serviceAccount.create, else it must exist), else
the workload's own name (created here), else "default" when create is off.
Usage: serviceAccountName: {{ include "newsroom-lib.serviceAccountName" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.serviceAccountName" -}}
{{- $account := .ctx.Values.serviceAccount | default dict -}}
{{- if $account.name -}}
{{- $account.name -}}
{{- else if $account.create -}}
{{- include "newsroom-lib.names.workload" . -}}
{{- else -}}
default
{{- end -}}
{{- end -}}

{{/*
A workload's own ServiceAccount (or the chart's, when serviceAccount.name is set), with
no API token mounted (no workload talks to the Kubernetes API).
Usage: {{ include "newsroom-lib.serviceAccount" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "newsroom-lib.serviceAccountName" . }}
  namespace: {{ include "newsroom-lib.names.namespace" .ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
  {{- with .ctx.Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}

{{/*
A workload's Deployment. No replicas field while an HPA or ScaledObject owns the count
(it would fight the autoscaler on every upgrade).
Usage: {{ include "newsroom-lib.deployment" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.deployment" -}}
{{- $ctx := .ctx -}}
{{- $facts := include "newsroom-lib.facts" $ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- $values := include "newsroom-lib.workloadValues" . | fromYaml -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "newsroom-lib.names.workload" . }}
  namespace: {{ include "newsroom-lib.names.namespace" $ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
spec:
  {{- if ne (include "newsroom-lib.autoscaled" .) "true" }}
  replicas: {{ $values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "newsroom-lib.labels.matchLabels" . | nindent 6 }}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        {{- include "newsroom-lib.labels.standard" . | nindent 8 }}
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include "newsroom-lib.env.config" $ctx | sha256sum }}
        {{- if $workload.sidecarsTemplate }}
        # kubectl logs/exec without -c reach the workload, not its sidecar.
        kubectl.kubernetes.io/default-container: {{ .component }}
        {{- end }}
        {{- $scrapePort := include "newsroom-lib.scrapePort" . }}
        {{- if $scrapePort }}
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ $scrapePort | quote }}
        prometheus.io/path: /metrics
        {{- end }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "newsroom-lib.serviceAccountName" . }}
      automountServiceAccountToken: false
      {{- include "newsroom-lib.imagePullSecrets" $ctx | nindent 6 }}
      {{- with $values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with include "newsroom-lib.pod.securityContext" (dict "ctx" $ctx "values" $values) }}
      securityContext:
        {{- . | nindent 8 }}
      {{- end }}
      {{- /* The preStop drain, then the workload's own time to finish in-flight work. */}}
      terminationGracePeriodSeconds: {{ add (int ($values.preStopSleepSeconds | default 0)) ($workload.terminationGracePeriodSeconds | default 30) }}
      {{- include "newsroom-lib.pod.topologySpread" . | nindent 6 }}
      {{- include "newsroom-lib.pod.scheduling" $values | nindent 6 }}
      {{- with $values.initContainers }}
      initContainers:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "newsroom-lib.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          {{- with $workload.command }}
          command:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            - name: http
              containerPort: {{ $workload.port }}
              protocol: TCP
            {{- with $workload.probePort }}
            - name: probes
              containerPort: {{ . }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ include "newsroom-lib.names.fullname" $ctx }}-config
          {{- $env := printf "%s\n%s" (include "newsroom-lib.env.secrets" .) (include "newsroom-lib.env.workload" .) | trim }}
          {{- with $env }}
          env:
            {{- . | nindent 12 }}
          {{- end }}
          {{- include "newsroom-lib.container.probes" . | nindent 10 }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          {{- with include "newsroom-lib.container.securityContext" (dict "ctx" $ctx "values" $values) }}
          securityContext:
            {{- . | nindent 12 }}
          {{- end }}
          {{- with int ($values.preStopSleepSeconds | default 0) }}
          lifecycle:
            preStop:
              # The endpoints drop the pod while it still answers, and kube-proxy (and any
              # load balancer) stops sending it new connections before SIGTERM stops its
              # listener: on a busy node that takes seconds (a 5 s sleep was too short once).
              exec:
                command: ["sleep", {{ . | quote }}]
          {{- end }}
          {{- include "newsroom-lib.container.volumeMounts" . | nindent 10 }}
        {{- /* The chart's own sidecars (facts' sidecarsTemplate, e.g. a metrics exporter). */}}
        {{- with $workload.sidecarsTemplate }}
        {{- include . $ctx | nindent 8 }}
        {{- end }}
        {{- with $values.sidecars }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- include "newsroom-lib.pod.volumes" . | nindent 6 }}
{{- end -}}

{{/*
The port Prometheus scrapes /metrics on: the workload's own port, or the facts'
scrapePort when they set the key (a metrics sidecar's port; null: nothing to scrape, and
the pod carries no prometheus.io annotations).
Usage: {{ $port := include "newsroom-lib.scrapePort" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.scrapePort" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- if hasKey $workload "scrapePort" -}}
{{- $workload.scrapePort | default "" -}}
{{- else -}}
{{- $workload.port -}}
{{- end -}}
{{- end -}}

{{/*
An autoscaling/v2 HPA for one workload: CPU utilisation, optional memory, quick scale-up
and a stabilised, one-pod-a-minute scale-down.
Usage: {{ include "newsroom-lib.hpa" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.hpa" -}}
{{- $values := include "newsroom-lib.workloadValues" . | fromYaml -}}
{{- $autoscaling := $values.autoscaling -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "newsroom-lib.names.workload" . }}
  namespace: {{ include "newsroom-lib.names.namespace" .ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "newsroom-lib.names.workload" . }}
  minReplicas: {{ $autoscaling.minReplicas }}
  maxReplicas: {{ $autoscaling.maxReplicas }}
  metrics:
    {{- include "newsroom-lib.hpa.metrics" $autoscaling | nindent 4 }}
  behavior:
    {{- include "newsroom-lib.hpa.behavior" $autoscaling | nindent 4 }}
{{- end -}}

{{/*
The resource metrics of an HPA (CPU, and memory when a target is set).
Usage: {{- include "newsroom-lib.hpa.metrics" $autoscaling | nindent 4 }}
*/}}
{{- define "newsroom-lib.hpa.metrics" -}}
- type: Resource
  resource:
    name: cpu
    target:
      type: Utilization
      averageUtilization: {{ .targetCPUUtilizationPercentage }}
{{- with .targetMemoryUtilizationPercentage }}
- type: Resource
  resource:
    name: memory
    target:
      type: Utilization
      averageUtilization: {{ . }}
{{- end }}
{{- end -}}

{{/*
HPA scaling behaviour: scale up fast, scale down one pod a minute after a stabilisation
window, so a short dip does not drop capacity that the next spike needs.
Usage: {{- include "newsroom-lib.hpa.behavior" $autoscaling | nindent 4 }}
*/}}
{{- define "newsroom-lib.hpa.behavior" -}}
scaleUp:
  stabilizationWindowSeconds: 0
  selectPolicy: Max
  policies:
    - type: Percent
      value: 100
      periodSeconds: 30
    - type: Pods
      value: 2
      periodSeconds: 30
scaleDown:
  stabilizationWindowSeconds: {{ .scaleDownStabilizationWindowSeconds }}
  selectPolicy: Min
  policies:
    - type: Pods
      value: 1
      periodSeconds: 60
{{- end -}}

{{/*
A KEDA ScaledObject for a Kafka consumer workload, instead of the HPA: it scales on the
lag of each consumer group on the topic it reads (facts.workloads.<c>.consumes), and on
CPU, within the same bounds (so never past the partition count). KEDA owns the HPA it
creates, named like the chart's own HPA and annotated so that, on an upgrade that turns
KEDA on, KEDA adopts the HPA the previous release made instead of fighting it (KEDA 2.12+:
scaledobject.keda.sh/transfer-hpa-ownership with horizontalPodAutoscalerConfig.name).
Usage: {{ include "newsroom-lib.scaledObject" (dict "ctx" $ "component" "consumer") }}
*/}}
{{- define "newsroom-lib.scaledObject" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
{{- $values := include "newsroom-lib.workloadValues" . | fromYaml -}}
{{- $autoscaling := $values.autoscaling -}}
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ include "newsroom-lib.names.workload" . }}
  namespace: {{ include "newsroom-lib.names.namespace" .ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
  annotations:
    scaledobject.keda.sh/transfer-hpa-ownership: "true"
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "newsroom-lib.names.workload" . }}
  minReplicaCount: {{ $autoscaling.minReplicas }}
  maxReplicaCount: {{ $autoscaling.maxReplicas }}
  pollingInterval: {{ $values.keda.pollingInterval }}
  cooldownPeriod: {{ $autoscaling.scaleDownStabilizationWindowSeconds }}
  advanced:
    horizontalPodAutoscalerConfig:
      name: {{ include "newsroom-lib.names.workload" . }}
      behavior:
        {{- include "newsroom-lib.hpa.behavior" $autoscaling | nindent 8 }}
  triggers:
    {{- range $workload.consumes }}
    - type: kafka
      metadata:
        bootstrapServers: {{ $.ctx.Values.global.kafka.bootstrapServers | quote }}
        consumerGroup: {{ .group | quote }}
        topic: {{ .topic | quote }}
        lagThreshold: {{ $values.keda.lagThreshold | quote }}
        offsetResetPolicy: earliest
        allowIdleConsumers: "false"
    {{- end }}
    - type: cpu
      metricType: Utilization
      metadata:
        value: {{ $autoscaling.targetCPUUtilizationPercentage | quote }}
{{- end -}}

{{/*
A PodDisruptionBudget letting voluntary disruptions (node drains, upgrades) take at most
one pod of the workload at a time.
Usage: {{ include "newsroom-lib.pdb" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "newsroom-lib.names.workload" . }}
  namespace: {{ include "newsroom-lib.names.namespace" .ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
spec:
  maxUnavailable: 1
  # A pod that never became ready (crash loop, bad config) may be evicted anyway, so it
  # cannot block a node drain.
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "newsroom-lib.labels.matchLabels" . | nindent 6 }}
{{- end -}}

{{/*
The ClusterIP (or configured type) Service in front of a workload's HTTP port, with
service.externalTrafficPolicy for a LoadBalancer or NodePort type.
Usage: {{ include "newsroom-lib.service" (dict "ctx" $ "component" "api") }}
*/}}
{{- define "newsroom-lib.service" -}}
{{- $facts := include "newsroom-lib.facts" .ctx | fromYaml -}}
{{- $workload := index $facts.workloads .component -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "newsroom-lib.names.workload" . }}
  namespace: {{ include "newsroom-lib.names.namespace" .ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
  {{- $service := .ctx.Values.service | default dict }}
  {{- with $service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ $service.type | default "ClusterIP" }}
  {{- with $service.externalTrafficPolicy }}
  {{- if eq ($service.type | default "ClusterIP") "ClusterIP" }}
  {{- fail "service.externalTrafficPolicy applies to LoadBalancer and NodePort Services only: set service.type too" }}
  {{- end }}
  # Local keeps the client's address (no second hop through another node's kube-proxy),
  # so the gateway's per-client rate limits see real clients.
  externalTrafficPolicy: {{ . }}
  {{- end }}
  ports:
    - name: http
      port: {{ $workload.port }}
      targetPort: http
      protocol: TCP
      {{- if and $service.nodePort (ne ($service.type | default "ClusterIP") "ClusterIP") }}
      nodePort: {{ $service.nodePort }}
      {{- end }}
  selector:
    {{- include "newsroom-lib.labels.matchLabels" . | nindent 4 }}
{{- end -}}
