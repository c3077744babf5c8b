{{/* The app's name: the chart's, unless nameOverride. */}}
{{- define "scalepass.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{/*
Every resource's name. Release "scalepass" gives the names of kustomize/base (scalepass,
scalepass-config). At most 52 characters: a CronJob's limit (its Jobs get an 11-character suffix).
*/}}
{{- define "scalepass.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object: kustomize/base's two, and Helm's. */}}
{{- define "scalepass.labels" -}}
app.kubernetes.io/name: {{ include "scalepass.name" . }}
app.kubernetes.io/part-of: scalepass
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* The run's config.yaml: the top-level values, then the rest of .Values.config. */}}
{{- define "scalepass.config" -}}
{{- $c := dict "namespaces" .Values.namespaces "schedule" .Values.schedule -}}
{{- with .Values.labelSelector -}}{{- $_ := set $c "labelSelector" . -}}{{- end -}}
{{- range $k, $v := .Values.config -}}
{{- if not (kindIs "invalid" $v) -}}{{- $_ := set $c $k $v -}}{{- end -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}

{{/*
A run that outlives activeDeadlineSeconds is killed before it flushes its metrics and gives its Lease
back: refuse such values at install. The defaults are the run's own (schemas/config.schema.json).
*/}}
{{- define "scalepass.checkDeadlines" -}}
{{- $pass := .Values.config.passDeadlineMs | default 50000 | int64 -}}
{{- $flush := .Values.config.flushTimeoutMs | default 5000 | int64 -}}
{{- $active := .Values.job.activeDeadlineSeconds | int64 -}}
{{- if ge (add $pass $flush) (mul $active 1000) -}}
{{- fail (printf "config.passDeadlineMs (%d) + config.flushTimeoutMs (%d) must stay below job.activeDeadlineSeconds (%d s): a run would be killed before it flushes its metrics" $pass $flush $active) -}}
{{- end -}}
{{- end -}}
