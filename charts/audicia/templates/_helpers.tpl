{{/* Name of the chart, or nameOverride. */}}
{{- define "audicia.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: fullnameOverride, or the release name (with the chart name unless it already contains it). */}}
{{- define "audicia.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "audicia.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "audicia.labels" -}}
helm.sh/chart: {{ include "audicia.chart" . }}
{{ include "audicia.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: audicia
{{- end }}

{{/* Labels that select the operator's pods. */}}
{{- define "audicia.selectorLabels" -}}
app.kubernetes.io/name: {{ include "audicia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "audicia.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "audicia.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "audicia.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Fails on a mode the chart does not know. */}}
{{- define "audicia.validate" -}}
{{- if not (has .Values.mode (list "file" "webhook")) }}
{{- fail (printf "mode must be file or webhook, not %q" .Values.mode) }}
{{- end }}
{{- if and .Values.webhook.tls.existingSecret .Values.webhook.certManager.enabled }}
{{- fail "set either webhook.tls.existingSecret or webhook.certManager.enabled, not both" }}
{{- end }}
{{- end }}

{{/* Leader election: asked for, or needed by more than one replica. */}}
{{- define "audicia.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{- define "audicia.webhookServiceName" -}}
{{- printf "%s-webhook" (include "audicia.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "audicia.metricsServiceName" -}}
{{- printf "%s-metrics" (include "audicia.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The kubernetes.io/tls Secret the webhook serves: existing, cert-manager's, or the chart's own. */}}
{{- define "audicia.webhookTLSSecretName" -}}
{{- if .Values.webhook.tls.existingSecret }}
{{- .Values.webhook.tls.existingSecret }}
{{- else }}
{{- printf "%s-webhook-tls" (include "audicia.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* DNS names of the webhook certificate: the Service's names, then webhook.tls.dnsNames. */}}
{{- define "audicia.webhookDNSNames" -}}
{{- $svc := include "audicia.webhookServiceName" . }}
{{- $ns := .Release.Namespace }}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) }}
{{- concat $names .Values.webhook.tls.dnsNames | uniq | toJson }}
{{- end }}

{{/* IP addresses of the webhook certificate: the pinned ClusterIP, then webhook.tls.ipAddresses. */}}
{{- define "audicia.webhookIPs" -}}
{{- $ips := list }}
{{- with .Values.webhook.service.clusterIP }}{{ if ne . "None" }}{{ $ips = append $ips . }}{{ end }}{{ end }}
{{- concat $ips .Values.webhook.tls.ipAddresses | uniq | toJson }}
{{- end }}
