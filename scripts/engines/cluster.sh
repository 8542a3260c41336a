#!/usr/bin/env bash
# A single-node Kubernetes cluster on this machine, from the binaries build-cluster-binaries.sh
# made: etcd (apt), kube-apiserver, kube-controller-manager, kube-scheduler, containerd (apt,
# CRI on) + runc, kubelet, kube-proxy, the CNI bridge plugin (apt), CoreDNS. Everything it writes
# lives in CLUSTER_DIR and is removed by cluster_down, which also stops every process it started
# (by pid), unmounts what kubelet and containerd mounted and puts the host's sysctls, iptables
# rules and links back. Sourced (after lib.sh and host-state.sh).
#
# Network: the node's address is the gateway of its own bridge (mpe2e0, 10.244.0.1), so the API
# server and kubelet listen there and on 127.0.0.1, never on the machine's uplink; pods are not
# masqueraded and a FORWARD rule drops anything from the pod network that would leave by another
# link, so no pod traffic can go off the machine.

CLUSTER_DIR="${CLUSTER_DIR:-$E2E_CACHE/cluster}"
NODE_NAME="mpe2e-node"
NODE_BRIDGE="mpe2e0"
NODE_IP="10.244.0.1"
POD_CIDR="10.244.0.0/24"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SERVICE_IP="10.96.0.1"
DNS_SERVICE_IP="10.96.0.10"
PAUSE_IMAGE="registry.k8s.io/pause:3.10"
CLUSTER_PIDS_FILE="$CLUSTER_DIR/pids"
KUBECTL="$KUBE_BIN/kubectl"

kubectl() { "$KUBECTL" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" --cache-dir "$CLUSTER_DIR/kubectl-cache" "$@"; }

# --- certificates ---------------------------------------------------------------------------------
# sign NAME SUBJECT CA [SANS] [EXTENDED_USAGE] — a key and a certificate signed by CA.
sign() {
  local name="$1" subject="$2" ca="$3" sans="${4:-}" usage="${5:-clientAuth}" pki="$CLUSTER_DIR/pki"
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" -CAcreateserial -days 2 -sha256 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
}

make_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CLUSTER_DIR/pki/$1.key" -out "$CLUSTER_DIR/pki/$1.crt" -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

# kubeconfig NAME USER — a kubeconfig for the client certificate pki/USER.{crt,key}.
kubeconfig_for() {
  local file="$CLUSTER_DIR/$1.kubeconfig" pki="$CLUSTER_DIR/pki"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: https://$NODE_IP:$API_PORT
      certificate-authority: $pki/ca.crt
users:
  - name: $2
    user:
      client-certificate: $pki/$2.crt
      client-key: $pki/$2.key
contexts:
  - name: e2e
    context: {cluster: e2e, user: $2}
current-context: e2e
EOF
}

make_pki() {
  mkdir -p "$CLUSTER_DIR/pki"
  make_ca ca "media-processor-e2e-ca"
  make_ca front-proxy-ca "media-processor-e2e-front-proxy-ca"
  sign apiserver "/CN=kube-apiserver" ca "IP:$NODE_IP,IP:127.0.0.1,IP:$KUBERNETES_SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" serverAuth
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" ca
  sign front-proxy-client "/CN=front-proxy-client" front-proxy-ca
  sign admin "/O=system:masters/CN=e2e-admin" ca
  sign controller-manager "/CN=system:kube-controller-manager" ca
  sign scheduler "/CN=system:kube-scheduler" ca
  sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" ca
  sign kube-proxy "/CN=system:kube-proxy" ca
  openssl genrsa -out "$CLUSTER_DIR/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$CLUSTER_DIR/pki/sa.key" -pubout -out "$CLUSTER_DIR/pki/sa.pub" 2>/dev/null
  local name
  for name in admin controller-manager scheduler kubelet kube-proxy; do kubeconfig_for "$name" "$name"; done
}

# --- processes ------------------------------------------------------------------------------------
# start_process NAME command… — in the background, logged to CLUSTER_DIR/logs/NAME.log, pid kept.
start_process() {
  local name="$1"
  shift
  mkdir -p "$CLUSTER_DIR/logs"
  "${NICE[@]}" "$@" >"$CLUSTER_DIR/logs/$name.log" 2>&1 &
  echo "$! $name" >>"$CLUSTER_PIDS_FILE"
}

free_tcp_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

api_healthy() { curl -fsS --cacert "$CLUSTER_DIR/pki/ca.crt" --cert "$CLUSTER_DIR/pki/admin.crt" --key "$CLUSTER_DIR/pki/admin.key" "https://$NODE_IP:$API_PORT/readyz" >/dev/null 2>&1; }
etcd_healthy() { curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
node_ready() { [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }

write_containerd_config() {
  mkdir -p "$CLUSTER_DIR/containerd" "$CLUSTER_DIR/cni"
  cat >"$CLUSTER_DIR/containerd/config.toml" <<EOF
version = 2
root = "$CLUSTER_DIR/containerd/root"
state = "$CLUSTER_DIR/containerd/state"
[grpc]
  address = "$CLUSTER_DIR/containerd/containerd.sock"
[ttrpc]
  address = "$CLUSTER_DIR/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$CLUSTER_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Root here may not lower oom_score_adj, which runc is asked to do for guaranteed pods.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$CLUSTER_DIR/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_DIR/cni"
EOF
  # No ipMasq: pod traffic is never rewritten to leave the machine as the host.
  cat >"$CLUSTER_DIR/cni/10-mpe2e.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "mpe2e",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR", "rangeStart": "10.244.0.10", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$CLUSTER_DIR/cni-ipam"
      }
    },
    { "type": "loopback" }
  ]
}
EOF
}

write_kubelet_config() {
  mkdir -p "$CLUSTER_DIR/kubelet"
  cat >"$CLUSTER_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CLUSTER_DIR/pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CLUSTER_DIR/containerd/containerd.sock
cgroupDriver: cgroupfs
# This machine has swap settings and cgroup v1 a production node would not.
failSwapOn: false
failCgroupV1: false
clusterDomain: cluster.local
clusterDNS: [$DNS_SERVICE_IP]
# Pods never inherit the host's resolvers: names resolve in the cluster or not at all.
resolvConf: ""
staticPodPath: ""
# A shared machine: evict only when really out of room, keep the imported images.
evictionHard: {memory.available: 50Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
serializeImagePulls: false
maxPods: 60
volumePluginDir: $CLUSTER_DIR/kubelet/volume-plugins
EOF
}

write_kube_proxy_config() {
  cat >"$CLUSTER_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
clientConnection: {kubeconfig: $CLUSTER_DIR/kube-proxy.kubeconfig}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
nodePortAddresses: ["$NODE_IP/32"]
# Leave the host's conntrack table sizes alone.
conntrack: {maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

start_control_plane() {
  start_process etcd etcd --name e2e --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" --quota-backend-bytes 1073741824
  wait_for 60 etcd_healthy || { tail -n 20 "$CLUSTER_DIR/logs/etcd.log" >&2; return 1; }
  local pki="$CLUSTER_DIR/pki"
  # The requestheader/proxy-client flags make the aggregation layer work: the API server
  # forwards external.metrics.k8s.io to KEDA's metrics adapter with a client certificate the
  # adapter trusts through the extension-apiserver-authentication ConfigMap.
  start_process kube-apiserver "$KUBE_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$NODE_IP" --advertise-address "$NODE_IP" --secure-port "$API_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC \
    --allow-privileged=true \
    --requestheader-client-ca-file "$pki/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$pki/front-proxy-client.crt" --proxy-client-key-file "$pki/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --profiling=false
  wait_for 120 api_healthy || { tail -n 30 "$CLUSTER_DIR/logs/kube-apiserver.log" >&2; return 1; }
  # The HPA controller syncs every 5 s instead of 15 s, so scaling is seen sooner; everything
  # else is the default.
  start_process kube-controller-manager "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --use-service-account-credentials=true --leader-elect=false \
    --bind-address 127.0.0.1 --secure-port 0 \
    --horizontal-pod-autoscaler-sync-period 5s
  start_process kube-scheduler "$KUBE_BIN/kube-scheduler" \
    --kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 0
}

start_node() {
  start_process containerd containerd --config "$CLUSTER_DIR/containerd/config.toml"
  wait_for 60 test -S "$CLUSTER_DIR/containerd/containerd.sock" || { tail -n 20 "$CLUSTER_DIR/logs/containerd.log" >&2; return 1; }
  start_process kubelet "$KUBE_BIN/kubelet" --config "$CLUSTER_DIR/kubelet/config.yaml" \
    --kubeconfig "$CLUSTER_DIR/kubelet.kubeconfig" --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" \
    --root-dir "$CLUSTER_DIR/kubelet/root" --cert-dir "$CLUSTER_DIR/kubelet/pki"
  start_process kube-proxy "$KUBE_BIN/kube-proxy" --config "$CLUSTER_DIR/kube-proxy.yaml"
}

ctr_k8s() { ctr --address "$CLUSTER_DIR/containerd/containerd.sock" -n k8s.io "$@"; }

# import_images TARBALL… — docker-save archives into the node's image store.
import_images() {
  local tarball
  for tarball in "$@"; do ctr_k8s images import --all-platforms "$tarball" >/dev/null; done
}

# --- up / down ------------------------------------------------------------------------------------
cluster_up() {
  apt_install etcd-server containerd runc containernetworking-plugins conntrack iptables openssl
  [ -e "$CLUSTER_DIR" ] && cluster_down
  mkdir -p "$CLUSTER_DIR"
  : >"$CLUSTER_PIDS_FILE"
  save_host_state cluster
  ETCD_PORT="$(free_tcp_port)" ETCD_PEER_PORT="$(free_tcp_port)" API_PORT="$(free_tcp_port)"
  KUBELET_PORT="$(free_tcp_port)" KUBELET_HEALTHZ_PORT="$(free_tcp_port)"
  PROXY_HEALTHZ_PORT="$(free_tcp_port)" PROXY_METRICS_PORT="$(free_tcp_port)"
  export ETCD_PORT ETCD_PEER_PORT API_PORT KUBELET_PORT KUBELET_HEALTHZ_PORT PROXY_HEALTHZ_PORT PROXY_METRICS_PORT
  # The node's own bridge, created before any pod so the API server can listen on its gateway.
  ip link add "$NODE_BRIDGE" type bridge
  ip addr add "$NODE_IP/24" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  # Services between pods on one bridge need bridged traffic to pass iptables; the API server
  # and Service traffic is routed through the host.
  sysctl -q -w net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1
  iptables -I FORWARD 1 -s "$POD_CIDR" ! -o "$NODE_BRIDGE" -j DROP
  # Pod to pod (also through a Service) stays allowed whatever another engine's FORWARD policy.
  iptables -I FORWARD 1 -i "$NODE_BRIDGE" -o "$NODE_BRIDGE" -j ACCEPT
  make_pki
  write_containerd_config
  write_kubelet_config
  write_kube_proxy_config
  start_control_plane
  start_node
}

stop_started() {
  local name="$1" pid
  pid="$(awk -v name="$name" '$2 == name { print $1 }' "$CLUSTER_PIDS_FILE")"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  wait_for 20 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
}

cluster_down() {
  local name task
  if [ -s "$CLUSTER_PIDS_FILE" ]; then
    stop_started kube-proxy
    stop_started kubelet
    # Every container the node still runs, through containerd itself (killing a shim would
    # orphan its container), then containerd and the control plane, each by its own pid.
    if [ -S "$CLUSTER_DIR/containerd/containerd.sock" ]; then
      for task in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -a -s SIGKILL "$task" >/dev/null 2>&1 || true; done
      for task in $(ctr_k8s tasks ls -q 2>/dev/null); do
        wait_for 10 bash -c "! ctr --address '$CLUSTER_DIR/containerd/containerd.sock' -n k8s.io tasks ls -q | grep -qx '$task'" || true
        ctr_k8s tasks delete -f "$task" >/dev/null 2>&1 || true
      done
    fi
    for name in containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_started "$name"; done
  fi
  # Shims whose containers are gone exit on their own; one still there is found by its pid file.
  local shim
  for shim in "$CLUSTER_DIR"/containerd/state/io.containerd.runtime.v2.task/k8s.io/*/shim.pid; do
    [ -f "$shim" ] && kill -KILL "$(cat "$shim")" 2>/dev/null || true
  done
  unmount_under "$CLUSTER_DIR"
  restore_host_state cluster
  rm -rf "$CLUSTER_DIR"
}
