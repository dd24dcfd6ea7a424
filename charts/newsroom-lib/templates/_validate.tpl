{{/*
Checks values that the JSON schema cannot relate to each other; rendering fails with a
message that says what to change.
- a Kafka consumer never gets more replicas than the partitions of the topics it consumes
  (the extra ones would sit idle while still counting for the HPA);
- KEDA needs autoscaling on (its bounds are autoscaling.minReplicas/maxReplicas);
- minReplicas <= maxReplicas;
- a chart exposed through an Ingress or an HTTPRoute names the proxies it trusts
  (trustedProxies): without them every client shares the proxy's rate limits.
Usage: {{ include "newsroom-lib.validate" . }}
*/}}
{{- define "newsroom-lib.validate" -}}
{{- $facts := include "newsroom-lib.facts" . | fromYaml -}}
{{- range $component, $workload := $facts.workloads }}
{{- $values := include "newsroom-lib.workloadValues" (dict "ctx" $ "component" $component) | fromYaml }}
{{- $autoscaling := $values.autoscaling | default (dict "enabled" false "minReplicas" 1 "maxReplicas" 1) }}
{{- if gt (int $autoscaling.minReplicas) (int $autoscaling.maxReplicas) }}
{{- fail (printf "%s.autoscaling: minReplicas (%v) is above maxReplicas (%v)" $component $autoscaling.minReplicas $autoscaling.maxReplicas) }}
{{- end }}
{{- with $workload.consumes }}
{{- $partitions := 0 }}
{{- range . }}{{ if gt (int .partitions) $partitions }}{{ $partitions = int .partitions }}{{ end }}{{ end }}
{{- $most := ternary (int $autoscaling.maxReplicas) (int $values.replicas) (eq $autoscaling.enabled true) }}
{{- if gt $most $partitions }}
{{- fail (printf "%s: %d replicas would exceed the %d partitions of the topics it consumes (%s); lower %s" $component $most $partitions (include "newsroom-lib.topicList" .) (ternary "autoscaling.maxReplicas" "replicas" (eq $autoscaling.enabled true))) }}
{{- end }}
{{- end }}
{{- if and $values.keda $values.keda.enabled (not $autoscaling.enabled) }}
{{- fail (printf "%s.keda.enabled needs %s.autoscaling.enabled (KEDA scales between its min and max replicas)" $component $component) }}
{{- end }}
{{- end }}
{{- $exposed := list }}
{{- if and .Values.ingress .Values.ingress.enabled }}{{ $exposed = append $exposed "ingress.enabled" }}{{ end }}
{{- if and .Values.httpRoute .Values.httpRoute.enabled }}{{ $exposed = append $exposed "httpRoute.enabled" }}{{ end }}
{{- if and $exposed (hasKey .Values "trustedProxies") (not .Values.trustedProxies) }}
{{- fail (printf "%s needs trustedProxies: the CIDRs of your Ingress controller / Gateway pods (e.g. the cluster's pod CIDR, 10.244.0.0/16), else every client shares one address's rate limits" (join " and " $exposed)) }}
{{- end }}
{{- end -}}

{{/*
"name (N partitions), ..." for a list of consumed topics, for error messages.
Usage: {{ include "newsroom-lib.topicList" $workload.consumes }}
*/}}
{{- define "newsroom-lib.topicList" -}}
{{- $parts := list -}}
{{- range . }}{{ $parts = append $parts (printf "%s: %v" .topic .partitions) }}{{ end -}}
{{- join ", " $parts -}}
{{- end -}}
