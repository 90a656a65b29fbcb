{{/* The chart's name, or nameOverride. */}}
{{- define "erp-sync-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: fullnameOverride, or RELEASE-NAME, without saying a name twice: the release
name alone when it holds the chart's (erp-sync-operator-prod), the chart's name alone when it starts with
the release's (release erp-sync: erp-sync-operator, not erp-sync-erp-sync-operator). */}}
{{- define "erp-sync-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else if hasPrefix (printf "%s-" .Release.Name) $name }}
{{- $name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "erp-sync-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "erp-sync-operator.labels" -}}
helm.sh/chart: {{ include "erp-sync-operator.chart" . }}
{{ include "erp-sync-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ include "erp-sync-operator.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: erp-sync-operator
{{- end }}

{{/* Labels that select the operator's pod. */}}
{{- define "erp-sync-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "erp-sync-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount's name. */}}
{{- define "erp-sync-operator.serviceAccountName" -}}
{{- default (include "erp-sync-operator.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* The image tag: image.tag, or the chart's appVersion. */}}
{{- define "erp-sync-operator.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* The operator's image, repository:tag. */}}
{{- define "erp-sync-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "erp-sync-operator.tag" .) }}
{{- end }}

{{/* The workers' default image: workerImage, or the operator's own image. */}}
{{- define "erp-sync-operator.workerImage" -}}
{{- default (include "erp-sync-operator.image" .) .Values.workerImage }}
{{- end }}

{{/* True ("true") when watchNamespaces names at least one namespace; empty means all namespaces. */}}
{{- define "erp-sync-operator.namespaced" -}}
{{- if .Values.watchNamespaces }}true{{ end }}
{{- end }}

{{/*
The watched namespaces, checked for templates that create objects in each (Roles, worker
NetworkPolicies): they must be names, not kopf's globs or exclusions. `what` names the feature.
*/}}
{{- define "erp-sync-operator.exactNamespaces" -}}
{{- $root := .root }}
{{- if not $root.Values.watchNamespaces }}
{{- fail (printf "%s needs watchNamespaces: list the namespaces (an empty list means every namespace)" .what) }}
{{- end }}
{{- range $root.Values.watchNamespaces }}
{{- if regexMatch "[*?!\\[\\]]" . }}
{{- fail (printf "%s needs namespace names in watchNamespaces, not the pattern %q" $.what .) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The RBAC scope, "cluster" or "namespaced", from rbac.scope and watchNamespaces. Empty rbac.scope (the
default) follows watchNamespaces: every namespace, cluster; namespace names, namespaced (a Role in each).
The operator's rules let it create Jobs and CronJobs, that is run Pods that can mount any Secret and
use any ServiceAccount of the namespace: a ClusterRole must not give that in every namespace when it
watches some. So rbac.scope=cluster with watchNamespaces naming namespaces fails, and kopf patterns
(which no Role can follow) need rbac.scope=cluster said explicitly.
*/}}
{{- define "erp-sync-operator.rbacScope" -}}
{{- $scope := .Values.rbac.scope }}
{{- $patterns := list }}
{{- range .Values.watchNamespaces }}
{{- if regexMatch "[*?!\\[\\]]" . }}{{ $patterns = append $patterns . }}{{ end }}
{{- end }}
{{- if eq $scope "namespaced" }}
{{- include "erp-sync-operator.exactNamespaces" (dict "root" . "what" "rbac.scope=namespaced") }}
{{- else if not .Values.watchNamespaces }}
{{- $scope = "cluster" }}
{{- else if and $patterns (ne $scope "cluster") }}
{{- fail (printf "watchNamespaces holds the pattern %q, which no Role can follow: list namespace names, or set rbac.scope=cluster to accept a ClusterRole that lets the operator create Jobs and CronJobs (Pods that can mount any Secret) in every namespace" (first $patterns)) }}
{{- else if and (not $patterns) (eq $scope "cluster") }}
{{- fail (printf "rbac.scope=cluster with watchNamespaces %s grants the operator Jobs and CronJobs (Pods that can mount any Secret) in every namespace, not only in those: leave rbac.scope empty (Roles in the watched namespaces) or use namespaced" (join ", " .Values.watchNamespaces)) }}
{{- else if not $patterns }}
{{- $scope = "namespaced" }}
{{- end }}
{{- $scope }}
{{- end }}

{{/*
The operator's RBAC rules on namespaced resources (a Role in namespaced mode, in the ClusterRole
otherwise). Keep in step with docs/operator.md "What it calls" and docs/security.md.
*/}}
{{- define "erp-sync-operator.namespacedRules" -}}
- apiGroups: ["erpsync.io"]
  resources: ["erpsyncschedules"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["erpsync.io"]
  resources: ["erpsyncschedules/status"]
  verbs: ["patch"]
{{- /* blockOwnerDeletion on its children, under OwnerReferencesPermissionEnforcement (see docs/security.md) */}}
- apiGroups: ["erpsync.io"]
  resources: ["erpsyncschedules/finalizers"]
  verbs: ["update"]
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/* kopf's cluster-wide scanning: list/watch CRDs and namespaces (needed in namespaced mode too). */}}
{{- define "erp-sync-operator.clusterRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}

{{/* kopf's peering objects, `resource` clusterkopfpeerings or kopfpeerings. */}}
{{- define "erp-sync-operator.peeringRules" -}}
- apiGroups: ["kopf.dev"]
  resources: [{{ . | quote }}]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}

{{/* Egress to cluster DNS (UDP and TCP 53), for NetworkPolicies. */}}
{{- define "erp-sync-operator.dnsEgress" -}}
- to:
    - namespaceSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.namespaceSelector | nindent 10 }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.podSelector | nindent 10 }}
  ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
{{- end }}
