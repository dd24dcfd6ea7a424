{{/*
The hook Jobs of a service chart, run by Helm before install and before every upgrade,
before the new pods start:
- migrate: `<cli> migrate` (Alembic) against the service's own database;
- topics: creates the Kafka topics the service owns with the partition counts its code
  declares (<module>.topics.TOPICS), using kafka-python from the service's own image; it
  waits (at most 180 s) for a Kafka broker, then fails if an existing topic has fewer
  partitions than declared (growing a topic moves keys between partitions, an
  operator's decision). Off with global.kafka.createTopics
  (e.g. when Strimzi KafkaTopics manage them).
They run with their own ServiceAccount and NetworkPolicy, created as hooks too because
the release's own objects do not exist yet on first install; Helm deletes all of them once
every hook has succeeded (a failed Job stays, with its logs, until the next attempt). Their env is inline (the
ConfigMap does not exist yet either) and comes from the same define as the ConfigMap.
Usage: {{ include "newsroom-lib.hooks" . }} (in a chart's templates/hooks.yaml)
*/}}
{{- define "newsroom-lib.hooks" -}}
{{- $facts := include "newsroom-lib.facts" . | fromYaml -}}
{{- $createTopics := .Values.global.kafka.createTopics -}}
{{- if or .Values.migrations.enabled $createTopics }}
{{- $hookNames := list -}}
{{- if .Values.migrations.enabled }}{{ $hookNames = append $hookNames "migrate" }}{{ end -}}
{{- if $createTopics }}{{ $hookNames = append $hookNames "topics" }}{{ end }}
---
{{ include "newsroom-lib.hooks.serviceAccount" . }}
{{- if .Values.global.networkPolicy.enabled }}
---
{{ include "newsroom-lib.hooks.networkPolicy" (dict "ctx" . "components" $hookNames) }}
{{- end }}
{{- if .Values.migrations.enabled }}
---
{{ include "newsroom-lib.hookJob" (dict "ctx" . "component" "migrate" "command" (list $facts.cli "migrate")) }}
{{- end }}
{{- if $createTopics }}
---
{{- $env := dict "NEWSROOM_TOPICS_REPLICATION_FACTOR" (toString .Values.global.kafka.replicationFactor) "NEWSROOM_TOPICS_CONFIG" (toJson .Values.global.kafka.topicConfig) "NEWSROOM_TOPICS_WAIT_SECONDS" "180" }}
{{ include "newsroom-lib.hookJob" (dict "ctx" . "component" "topics" "command" (list "python" "-c" (include "newsroom-lib.topicsScript" .) $facts.module) "env" $env) }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Annotations that make an object a pre-install/pre-upgrade hook; weight orders hooks
(lower first).
Usage: {{- include "newsroom-lib.hooks.annotations" (dict "weight" -10 "deletePolicy" "before-hook-creation") | nindent 4 }}
*/}}
{{- define "newsroom-lib.hooks.annotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: {{ .deletePolicy }}
{{- end -}}

{{/*
The ServiceAccount the hook Jobs run as (no API token).
Usage: {{ include "newsroom-lib.hooks.serviceAccount" . }}
*/}}
{{- define "newsroom-lib.hooks.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "newsroom-lib.names.fullname" . }}-hooks
  namespace: {{ include "newsroom-lib.names.namespace" . }}
  labels:
    {{- include "newsroom-lib.labels.standard" (dict "ctx" . "component" "hooks") | nindent 4 }}
  annotations:
    {{- include "newsroom-lib.hooks.annotations" (dict "weight" -20 "deletePolicy" "before-hook-creation,hook-succeeded") | nindent 4 }}
automountServiceAccountToken: false
{{- end -}}

{{/*
The hook Jobs' NetworkPolicy: no ingress; egress to DNS, the service's database and Kafka.
Usage: {{ include "newsroom-lib.hooks.networkPolicy" (dict "ctx" $ "components" (list "migrate" "topics")) }}
*/}}
{{- define "newsroom-lib.hooks.networkPolicy" -}}
{{- $ctx := .ctx -}}
{{- $global := $ctx.Values.global -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "newsroom-lib.names.fullname" $ctx }}-hooks
  namespace: {{ include "newsroom-lib.names.namespace" $ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" (dict "ctx" $ctx "component" "hooks") | nindent 4 }}
  annotations:
    {{- include "newsroom-lib.hooks.annotations" (dict "weight" -20 "deletePolicy" "before-hook-creation,hook-succeeded") | nindent 4 }}
spec:
  podSelector:
    matchExpressions:
      - key: app.kubernetes.io/name
        operator: In
        values:
          {{- range .components }}
          - {{ include "newsroom-lib.names.app" (dict "ctx" $ctx "component" .) }}
          {{- end }}
      - key: app.kubernetes.io/instance
        operator: In
        values: [{{ $ctx.Release.Name | quote }}]
  policyTypes: [Ingress, Egress]
  ingress: []
  egress:
    {{- include "newsroom-lib.networkPolicy.dnsEgress" $ctx | nindent 4 }}
    - ports:
        - port: {{ $ctx.Values.database.port }}
          protocol: TCP
      to:
        {{- toYaml $ctx.Values.database.networkPolicyPeers | nindent 8 }}
    - ports:
        - port: {{ $global.kafka.port }}
          protocol: TCP
      to:
        {{- toYaml $global.kafka.networkPolicyPeers | nindent 8 }}
{{- end -}}

{{/*
One hook Job running `command` in the service image, hardened like the workloads, with
the chart's configuration, `env` (name -> value) and migrations.extraEnv in its
environment; it runs where migrations.nodeSelector/tolerations/affinity say, with
migrations.resources, podAnnotations, podLabels and priorityClassName.
Usage: {{ include "newsroom-lib.hookJob" (dict "ctx" $ "component" "migrate" "command" (list "newsroom-users" "migrate")) }}
*/}}
{{- define "newsroom-lib.hookJob" -}}
{{- $ctx := .ctx -}}
{{- $facts := include "newsroom-lib.facts" $ctx | fromYaml -}}
{{- $values := $ctx.Values.migrations -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "newsroom-lib.names.workload" . }}
  namespace: {{ include "newsroom-lib.names.namespace" $ctx }}
  labels:
    {{- include "newsroom-lib.labels.standard" . | nindent 4 }}
  annotations:
    {{- include "newsroom-lib.hooks.annotations" (dict "weight" -10 "deletePolicy" "before-hook-creation,hook-succeeded") | nindent 4 }}
spec:
  backoffLimit: {{ $values.backoffLimit }}
  activeDeadlineSeconds: {{ $values.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "newsroom-lib.labels.standard" . | nindent 8 }}
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ include "newsroom-lib.names.fullname" $ctx }}-hooks
      automountServiceAccountToken: false
      {{- include "newsroom-lib.imagePullSecrets" $ctx | nindent 6 }}
      {{- with $values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with include "newsroom-lib.pod.securityContext" (dict "ctx" $ctx "values" dict) }}
      securityContext:
        {{- . | nindent 8 }}
      {{- end }}
      {{- include "newsroom-lib.pod.scheduling" $values | nindent 6 }}
      containers:
        - name: {{ .component }}
          image: {{ include "newsroom-lib.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          command:
            {{- toYaml .command | nindent 12 }}
          env:
            {{- range $name, $value := include "newsroom-lib.env.config" $ctx | fromYaml }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
            {{- include "newsroom-lib.env.secrets" (dict "ctx" $ctx "component" .component) | nindent 12 }}
            {{- range $name, $value := .env }}
            - name: {{ $name }}
              value: {{ $value | quote }}
            {{- end }}
            {{- with $values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          {{- with include "newsroom-lib.container.securityContext" (dict "ctx" $ctx "values" dict) }}
          securityContext:
            {{- . | nindent 12 }}
          {{- end }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
{{- end -}}

{{/*
The topic job's program (run as `python -c <this> <module>`): create the topics
<module>.topics.TOPICS declares that do not exist, then check every declared topic exists
with at least its declared partitions. Idempotent, so safe on every upgrade and when two
services' jobs run at once.
Usage: {{ include "newsroom-lib.topicsScript" . }}
*/}}
{{- define "newsroom-lib.topicsScript" -}}
import importlib, json, os, sys, time
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaTimeoutError
module = sys.argv[1]
declared = importlib.import_module(module + ".topics").TOPICS
replication = int(os.environ["NEWSROOM_TOPICS_REPLICATION_FACTOR"])
configs = json.loads(os.environ.get("NEWSROOM_TOPICS_CONFIG") or "{}")
servers = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
# The Job starts with the release, often before the brokers (a fresh Strimzi cluster):
# wait for one, bounded, instead of failing the first tries.
wait = float(os.environ["NEWSROOM_TOPICS_WAIT_SECONDS"])
deadline = time.monotonic() + wait
while True:
    left = max(1.0, min(deadline - time.monotonic(), 10.0))
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=servers.split(","), client_id=module + "-topics",
            bootstrap_timeout_ms=int(left * 1000),
        )
        break
    except KafkaTimeoutError as error:
        if time.monotonic() >= deadline:
            sys.exit(f"Kafka at {servers} did not answer within {wait:.0f}s: {error}")
        print(f"waiting for Kafka at {servers}: {error}", flush=True)
try:
    existing = set(admin.list_topics())
    missing = {name: count for name, count in declared.items() if name not in existing}
    if missing:
        print("creating", ", ".join(f"{n} ({c} partitions)" for n, c in sorted(missing.items())), flush=True)
        admin.create_topics(
            {name: {"num_partitions": count, "replication_factor": replication, "configs": configs}
             for name, count in missing.items()},
            timeout_ms=30000, raise_errors=False, wait_for_metadata=True,
        )
    problems = []
    described = {t["name"]: t for t in admin.describe_topics(sorted(declared))}
    for name, count in sorted(declared.items()):
        topic = described.get(name)
        if topic is None or topic.get("error_code"):
            problems.append(f"{name}: missing")
        elif len(topic["partitions"]) < count:
            problems.append(f"{name}: {len(topic['partitions'])} partitions, {count} declared")
        else:
            print(f"{name}: ok ({len(topic['partitions'])} partitions)", flush=True)
    if problems:
        sys.exit("topics not as declared: " + "; ".join(problems))
finally:
    admin.close()
{{- end -}}
