{{/* The webhook receiver's name: the release's full name and -webhooks. */}}
{{- define "erp-sync-operator.webhooksName" -}}
{{- printf "%s-webhooks" (include "erp-sync-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the receiver's pods: never the operator's (its Deployment, PodDisruptionBudget and
NetworkPolicy select app.kubernetes.io/name=<chart>, which these pods must not carry). */}}
{{- define "erp-sync-operator.webhooksSelectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-webhooks" (include "erp-sync-operator.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of the receiver's objects. */}}
{{- define "erp-sync-operator.webhooksLabels" -}}
helm.sh/chart: {{ include "erp-sync-operator.chart" . }}
{{ include "erp-sync-operator.webhooksSelectorLabels" . }}
app.kubernetes.io/version: {{ include "erp-sync-operator.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: erp-sync-operator
app.kubernetes.io/component: webhooks
{{- end }}

{{/* The receiver's RBAC rules: it reads schedules and patches their sync-now annotations; no Jobs, no status,
no Secrets. Keep in step with docs/webhooks.md "RBAC". */}}
{{- define "erp-sync-operator.webhooksRules" -}}
- apiGroups: ["erpsync.io"]
  resources: ["erpsyncschedules"]
  verbs: ["get", "list", "patch"]
{{- end }}
