{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "media-processor.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release + chart, unless the release name already contains the chart name. */}}
{{- define "media-processor.fullname" -}}
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

{{- define "media-processor.workerName" -}}
{{- printf "%s-worker" (include "media-processor.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "media-processor.apiName" -}}
{{- printf "%s-api" (include "media-processor.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "media-processor.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "media-processor.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: media-processor
{{- end }}

{{/* Selector labels of one component (worker | api); immutable once installed. */}}
{{- define "media-processor.selectorLabels" -}}
app.kubernetes.io/name: {{ include "media-processor.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "media-processor.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "media-processor.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "media-processor.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "media-processor.secretName" -}}
{{- default (include "media-processor.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/*
Seconds a stopping worker waits for its in-flight jobs (SHUTDOWN_GRACE_PERIOD): the whole
processing timeout when draining, so no job is cut short by a rollout or a scale-in.
*/}}
{{- define "media-processor.workerDrainSeconds" -}}
{{- if .Values.worker.shutdown.drainInFlightJobs }}
{{- .Values.processing.timeoutSeconds | int }}
{{- else }}
{{- .Values.worker.shutdown.graceSeconds | int }}
{{- end }}
{{- end }}

{{/* terminationGracePeriodSeconds: the drain window plus time to release messages and close. */}}
{{- define "media-processor.workerTerminationGraceSeconds" -}}
{{- add (include "media-processor.workerDrainSeconds" . | int) (.Values.worker.shutdown.marginSeconds | int) }}
{{- end }}

{{/* Messages per replica the autoscaler targets: one per concurrent job unless set. */}}
{{- define "media-processor.queueLengthTarget" -}}
{{- $explicit := .Values.autoscaling.keda.queueLength | int }}
{{- if gt $explicit 0 }}{{ $explicit }}{{ else }}{{ .Values.processing.concurrency | int }}{{ end }}
{{- end }}

{{/*
Backlog query of the prometheus trigger. Every worker polls and exports the same queue gauge,
so the workers' values are combined with max, not sum: a sum would grow with the replica count
and scale the fleet up on its own output.
*/}}
{{- define "media-processor.prometheusQuery" -}}
{{- if .Values.autoscaling.keda.prometheus.query }}
{{- .Values.autoscaling.keda.prometheus.query }}
{{- else }}
{{- $states := ternary "visible|in_flight" "visible" .Values.autoscaling.keda.sqs.scaleOnInFlight }}
{{- printf "sum(max by (state) (media_queue_messages{queue=\"media\", state=~\"%s\", namespace=\"%s\"}))" $states .Release.Namespace }}
{{- end }}
{{- end }}

{{/* Values the templates cannot render without: fail at install with the value to set. */}}
{{- define "media-processor.validate" -}}
{{- if not .Values.queue.url }}
{{- fail "queue.url is required: the URL of the SQS queue receiving the bucket's ObjectCreated events" }}
{{- end }}
{{- if not .Values.storage.mediaBuckets }}
{{- fail "storage.mediaBuckets is required: the bucket(s) uploads arrive in" }}
{{- end }}
{{- if and (not .Values.secret.existingSecret) (not .Values.secret.create) }}
{{- fail "secret.create is false: set secret.existingSecret to the Secret holding REDIS_URL" }}
{{- end }}
{{- if and (not .Values.secret.existingSecret) (not .Values.secret.redisUrl) }}
{{- fail "secret.redisUrl (or secret.existingSecret with a REDIS_URL key) is required" }}
{{- end }}
{{- if and .Values.api.enabled (not .Values.api.insecureNoAuth) (not .Values.secret.existingSecret) (not .Values.secret.apiToken) }}
{{- fail "secret.apiToken is required for the API (or secret.existingSecret with an API_TOKEN key, or api.insecureNoAuth=true behind an authenticating proxy)" }}
{{- end }}
{{- if and .Values.autoscaling.keda.enabled (eq .Values.autoscaling.keda.trigger "prometheus") (lt (.Values.autoscaling.keda.minReplicaCount | int) 1) }}
{{- fail "autoscaling.keda.trigger=prometheus needs minReplicaCount >= 1: the queue gauge is exported by the workers, so at zero workers nothing would report the backlog and the fleet would never wake up. Use the aws-sqs-queue trigger to scale to zero." }}
{{- end }}
{{- if and .Values.autoscaling.keda.enabled (eq .Values.autoscaling.keda.trigger "aws-sqs-queue") (eq .Values.autoscaling.keda.sqs.authentication "roleArn") (not .Values.autoscaling.keda.sqs.roleArn) }}
{{- fail "autoscaling.keda.sqs.authentication=roleArn needs autoscaling.keda.sqs.roleArn" }}
{{- end }}
{{- if and .Values.autoscaling.keda.enabled (eq .Values.autoscaling.keda.trigger "aws-sqs-queue") (eq .Values.autoscaling.keda.sqs.authentication "existing") (not .Values.autoscaling.keda.sqs.existingTriggerAuthentication) }}
{{- fail "autoscaling.keda.sqs.authentication=existing needs autoscaling.keda.sqs.existingTriggerAuthentication" }}
{{- end }}
{{- end }}

{{/* Pod-level settings both Deployments share. */}}
{{- define "media-processor.podCommon" -}}
serviceAccountName: {{ include "media-processor.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Config and credentials both containers read; the checksums roll pods when they change. */}}
{{- define "media-processor.envFrom" -}}
envFrom:
  - configMapRef:
      name: {{ include "media-processor.fullname" . }}
  - secretRef:
      name: {{ include "media-processor.secretName" . }}
{{- end }}

{{- define "media-processor.checksums" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if .Values.secret.create }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}
