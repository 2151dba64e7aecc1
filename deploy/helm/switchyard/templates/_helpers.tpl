{{/* The objects' name: the release name, or RELEASE-switchyard. */}}
{{- define "switchyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The pods' labels that selectors use. */}}
{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* Labels of every object. */}}
{{- define "switchyard.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: switchyard
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The namespace of the ServerConfigs and SeldonConfigs. */}}
{{- define "switchyard.templatesNamespace" -}}
{{- .Values.templatesNamespace | default .Release.Namespace -}}
{{- end -}}

{{/*
The rules of one role of deploy/base/rbac.yaml (files/rbac.yaml links to
it), by kind: the chart grants exactly what the Kustomize base grants, which
tests/e2e/rbac.rs checks against the calls switchyard makes.
*/}}
{{- define "switchyard.rules" -}}
{{- $kind := .kind -}}
{{- $rules := list -}}
{{- range $doc := splitList "\n---\n" (.root.Files.Get "files/rbac.yaml") -}}
{{- $parsed := fromYaml $doc -}}
{{- if eq ($parsed.kind | default "") $kind -}}
{{- $rules = $parsed.rules -}}
{{- end -}}
{{- end -}}
{{- if not $rules -}}
{{- fail (printf "files/rbac.yaml has no %s" $kind) -}}
{{- end -}}
{{- toYaml $rules -}}
{{- end -}}

{{/*
Where the ClusterRole's rules are granted when switchyard does not serve
every namespace: the listed namespaces, its own (where its Lease is) and
the templates namespace.
*/}}
{{- define "switchyard.grantedNamespaces" -}}
{{- $namespaces := concat .Values.watchNamespaces (list .Release.Namespace (include "switchyard.templatesNamespace" .)) -}}
{{- toJson (uniq $namespaces) -}}
{{- end -}}

{{- define "switchyard.clusterwideGrant" -}}
{{- and .Values.clusterwide (empty .Values.watchNamespaces) -}}
{{- end -}}
