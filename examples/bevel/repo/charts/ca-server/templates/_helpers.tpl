{{- define "ca-server.labels" -}}
app.kubernetes.io/name: {{ .Values.server.name }}
app.kubernetes.io/part-of: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
