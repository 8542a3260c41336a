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
processing timeout when draining, so no job is cut short by a rollout or a scale-in. Takes the
context and the timeout of the pods in question (a lane's, or processing.timeoutSeconds).
*/}}
{{- define "media-processor.drainSeconds" -}}
{{- if .context.Values.worker.shutdown.drainInFlightJobs }}
{{- .timeoutSeconds | int }}
{{- else }}
{{- .context.Values.worker.shutdown.graceSeconds | int }}
{{- end }}
{{- end }}

{{/* The drain window of the lane-less worker (the ConfigMap's SHUTDOWN_GRACE_PERIOD). */}}
{{- define "media-processor.workerDrainSeconds" -}}
{{- include "media-processor.drainSeconds" (dict "context" . "timeoutSeconds" .Values.processing.timeoutSeconds) }}
{{- end }}

{{/* terminationGracePeriodSeconds of the lane-less worker: the drain window plus time to release messages and close. */}}
{{- define "media-processor.workerTerminationGraceSeconds" -}}
{{- add (include "media-processor.workerDrainSeconds" . | int) (.Values.worker.shutdown.marginSeconds | int) }}
{{- end }}

{{/* Messages per replica the autoscaler targets: one per concurrent job unless set. */}}
{{- define "media-processor.queueLengthTarget" -}}
{{- $explicit := .Values.autoscaling.keda.queueLength | int }}
{{- if gt $explicit 0 }}{{ $explicit }}{{ else }}{{ .Values.processing.concurrency | int }}{{ end }}
{{- end }}

{{/*
Backlog query of the prometheus trigger. Without lanes: the media queue's gauge,
media_queue_messages{queue="media"}. With lanes: the lane's, media_lane_queue_messages{lane=…},
which every worker exports for every lane (so any lane's running workers wake the others). Every
worker polls and exports the same gauge, so the workers' values are combined with max, not sum:
a sum would grow with the replica count and scale the fleet up on its own output.
*/}}
{{- define "media-processor.prometheusQueryFor" -}}
{{- $keda := .context.Values.autoscaling.keda }}
{{- $states := ternary "visible|in_flight" "visible" $keda.sqs.scaleOnInFlight }}
{{- if .lane }}
{{- printf "sum(max by (state) (media_lane_queue_messages{lane=\"%s\", state=~\"%s\", namespace=\"%s\"}))" .lane $states .context.Release.Namespace }}
{{- else }}
{{- printf "sum(max by (state) (media_queue_messages{queue=\"media\", state=~\"%s\", namespace=\"%s\"}))" $states .context.Release.Namespace }}
{{- end }}
{{- end }}

{{- define "media-processor.prometheusQuery" -}}
{{- if .Values.autoscaling.keda.prometheus.query }}
{{- .Values.autoscaling.keda.prometheus.query }}
{{- else }}
{{- include "media-processor.prometheusQueryFor" (dict "context" . "lane" "") }}
{{- end }}
{{- end }}

{{/*
Name of a lane's worker objects, `<fullname>-worker-<lane>`: the prefix is shortened, never the
lane, so two lanes never truncate to one name.
*/}}
{{- define "media-processor.laneWorkerName" -}}
{{- $prefix := include "media-processor.workerName" .context | trunc (int (sub 62 (len .lane))) | trimSuffix "-" }}
{{- printf "%s-%s" $prefix .lane }}
{{- end }}

{{/*
The worker Deployments to render, as JSON {"units": [...]}: one per lane, or the single
lane-less worker with today's names when `lanes` is empty (so existing installs upgrade in
place). Each unit carries what its Deployment, ScaledObject, HPA and PDB need, with the lane's
own values or the chart-wide ones they default to. `lane` is "" for the lane-less worker.
*/}}
{{- define "media-processor.workerUnits" -}}
{{- $v := .Values }}
{{- $keda := $v.autoscaling.keda }}
{{- $units := list }}
{{- if not $v.lanes }}
{{- $units = append $units (dict
  "name" (include "media-processor.workerName" .)
  "lane" ""
  "media" list
  "queueUrl" $v.queue.url
  "concurrency" ($v.processing.concurrency | int)
  "timeoutSeconds" ($v.processing.timeoutSeconds | int)
  "replicaCount" ($v.worker.replicaCount | int)
  "resources" $v.worker.resources
  "tempVolume" $v.worker.tempVolume
  "nodeSelector" $v.worker.nodeSelector
  "tolerations" $v.worker.tolerations
  "affinity" $v.worker.affinity
  "priorityClassName" $v.worker.priorityClassName
  "minReplicaCount" ($keda.minReplicaCount | int)
  "maxReplicaCount" ($keda.maxReplicaCount | int)
  "queueLength" (include "media-processor.queueLengthTarget" . | int)
  "activationQueueLength" ($keda.activationQueueLength | int)
  "cooldownPeriod" ($keda.cooldownPeriod | int)
  "prometheusQuery" (include "media-processor.prometheusQuery" .)
  "behavior" $keda.behavior) }}
{{- else }}
{{- range $index, $lane := $v.lanes }}
{{- $scaling := $lane.autoscaling | default dict }}
{{- $concurrency := $lane.concurrency | default $v.processing.concurrency | int }}
{{- $queueLength := $scaling.queueLength | default $keda.queueLength | default $concurrency | int }}
{{- $tempVolume := merge (dict) ($lane.tempVolume | default dict) $v.worker.tempVolume }}
{{- $query := $scaling.prometheusQuery | default (include "media-processor.prometheusQueryFor" (dict "context" $ "lane" $lane.name)) }}
{{- $units = append $units (dict
  "name" (include "media-processor.laneWorkerName" (dict "context" $ "lane" $lane.name))
  "lane" $lane.name
  "media" ($lane.media | default list)
  "queueUrl" ($lane.queueUrl | default (ternary $v.queue.url "" (eq $index 0)))
  "concurrency" $concurrency
  "timeoutSeconds" ($lane.timeoutSeconds | default $v.processing.timeoutSeconds | int)
  "replicaCount" ((hasKey $lane "replicaCount") | ternary $lane.replicaCount $v.worker.replicaCount | int)
  "resources" ($lane.resources | default $v.worker.resources)
  "tempVolume" $tempVolume
  "nodeSelector" ($lane.nodeSelector | default $v.worker.nodeSelector)
  "tolerations" ($lane.tolerations | default $v.worker.tolerations)
  "affinity" ($lane.affinity | default $v.worker.affinity)
  "priorityClassName" ($lane.priorityClassName | default $v.worker.priorityClassName)
  "minReplicaCount" ((hasKey $scaling "minReplicaCount") | ternary $scaling.minReplicaCount $keda.minReplicaCount | int)
  "maxReplicaCount" ($scaling.maxReplicaCount | default $keda.maxReplicaCount | int)
  "queueLength" $queueLength
  "activationQueueLength" ((hasKey $scaling "activationQueueLength") | ternary $scaling.activationQueueLength $keda.activationQueueLength | int)
  "cooldownPeriod" ((hasKey $scaling "cooldownPeriod") | ternary $scaling.cooldownPeriod $keda.cooldownPeriod | int)
  "prometheusQuery" $query
  "behavior" ($scaling.behavior | default $keda.behavior)) }}
{{- end }}
{{- end }}
{{- toJson (dict "units" $units) }}
{{- end }}

{{/* Selector labels of one worker unit: the lane's own label keeps two lanes' Deployments from claiming each other's pods. */}}
{{- define "media-processor.workerSelectorLabels" -}}
{{- include "media-processor.selectorLabels" (dict "context" .context "component" "worker") }}
{{- with .unit.lane }}
media-processor/lane: {{ . }}
{{- end }}
{{- end }}

{{/* MEDIA_LANES, MEDIA_LANE_QUEUE_URLS, MEDIA_LANE_CONCURRENCY as `lane=value;…`, entry lane first. */}}
{{- define "media-processor.laneEnv" -}}
{{- $definitions := list }}
{{- $queues := list }}
{{- $concurrency := list }}
{{- range (include "media-processor.workerUnits" . | fromJson).units }}
{{- $definitions = append $definitions (printf "%s=%s" .lane (join "," .media)) }}
{{- $queues = append $queues (printf "%s=%s" .lane .queueUrl) }}
{{- $concurrency = append $concurrency (printf "%s=%d" .lane (.concurrency | int)) }}
{{- end }}
{{- toJson (dict "MEDIA_LANES" (join ";" $definitions) "MEDIA_LANE_QUEUE_URLS" (join ";" $queues) "MEDIA_LANE_CONCURRENCY" (join ";" $concurrency)) }}
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
{{- if and (not .Values.lanes) .Values.autoscaling.keda.enabled (eq .Values.autoscaling.keda.trigger "prometheus") (lt (.Values.autoscaling.keda.minReplicaCount | int) 1) }}
{{- fail "autoscaling.keda.trigger=prometheus needs minReplicaCount >= 1: the queue gauge is exported by the workers, so at zero workers nothing would report the backlog and the fleet would never wake up. Use the aws-sqs-queue trigger to scale to zero." }}
{{- end }}
{{- if and .Values.autoscaling.keda.enabled (eq .Values.autoscaling.keda.trigger "aws-sqs-queue") (eq .Values.autoscaling.keda.sqs.authentication "roleArn") (not .Values.autoscaling.keda.sqs.roleArn) }}
{{- fail "autoscaling.keda.sqs.authentication=roleArn needs autoscaling.keda.sqs.roleArn" }}
{{- end }}
{{- if and .Values.autoscaling.keda.enabled (eq .Values.autoscaling.keda.trigger "aws-sqs-queue") (eq .Values.autoscaling.keda.sqs.authentication "existing") (not .Values.autoscaling.keda.sqs.existingTriggerAuthentication) }}
{{- fail "autoscaling.keda.sqs.authentication=existing needs autoscaling.keda.sqs.existingTriggerAuthentication" }}
{{- end }}
{{- include "media-processor.validateLanes" . }}
{{- end }}

{{/* What the lane parser of the worker (src/config) would refuse, refused at install instead. */}}
{{- define "media-processor.validateLanes" -}}
{{- $names := list }}
{{- $kinds := list }}
{{- $queues := list }}
{{- $awake := false }}
{{- range $index, $lane := .Values.lanes }}
{{- if has $lane.name $names }}
{{- fail (printf "lanes: the lane name %q appears twice" $lane.name) }}
{{- end }}
{{- $names = append $names $lane.name }}
{{- range $lane.media }}
{{- if has . $kinds }}
{{- fail (printf "lanes: media kind %q is in two lanes; each kind belongs to one lane" .) }}
{{- end }}
{{- $kinds = append $kinds . }}
{{- end }}
{{- end }}
{{- range $index, $unit := (include "media-processor.workerUnits" . | fromJson).units }}
{{- if and $unit.lane (not $unit.queueUrl) }}
{{- fail (printf "lanes[%d] (%s): queueUrl is required on every lane but the first (the first defaults to queue.url)" $index $unit.lane) }}
{{- end }}
{{- if and $unit.lane (has $unit.queueUrl $queues) }}
{{- fail (printf "lanes[%d] (%s): two lanes share the queue %s; each lane needs its own" $index $unit.lane $unit.queueUrl) }}
{{- end }}
{{- $queues = append $queues $unit.queueUrl }}
{{- if ge ($unit.minReplicaCount | int) 1 }}
{{- $awake = true }}
{{- end }}
{{- end }}
{{- if and .Values.lanes (not $awake) .Values.autoscaling.keda.enabled (eq .Values.autoscaling.keda.trigger "prometheus") }}
{{- fail "autoscaling.keda.trigger=prometheus with lanes needs minReplicaCount >= 1 on at least one lane: the lanes' queue gauges are exported by the workers (each worker reports every lane), so with every lane at zero nothing would report a backlog and the fleet would never wake up. Use the aws-sqs-queue trigger to scale every lane to zero." }}
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
