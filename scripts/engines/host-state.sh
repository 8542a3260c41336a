#!/usr/bin/env bash
# What the engines change on the host, saved before they start and put back after they stop:
# the sysctls dockerd, kubelet and kube-proxy set, the iptables rule sets, and the network links
# they create. Sourced (after lib.sh), never run.

E2E_RUN="${E2E_RUN:-/run/media-processor-e2e}"

# Every sysctl one of the engines is known to write.
HOST_SYSCTLS=(
  net.ipv4.ip_forward
  net.ipv4.conf.all.forwarding
  net.ipv4.conf.all.route_localnet
  net.ipv6.conf.all.forwarding
  net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables
  net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait
  vm.overcommit_memory
  vm.panic_on_oom
  kernel.panic
  kernel.panic_on_oops
  kernel.keys.root_maxkeys
  kernel.keys.root_maxbytes
)

# Folders the engines create outside their own roots (paths built into them): containerd's shim
# sockets, network namespaces, kubelet's device-plugin and log folders, the CNI result cache.
HOST_PATHS=(/run/containerd /run/docker /run/netns /var/lib/kubelet /var/lib/cni /var/log/pods /var/log/containers /usr/libexec/kubernetes)
# Cgroups they create in every cgroup v1 hierarchy.
HOST_CGROUPS=(docker kubepods)

# save_host_state NAME — once per NAME; a second save (nested engines) keeps the first.
save_host_state() {
  local dir="$E2E_RUN/host-state/$1" name value
  [ -d "$dir" ] && return 0
  mkdir -p "$dir"
  : >"$dir/sysctl"
  for name in "${HOST_SYSCTLS[@]}"; do
    value="$(sysctl -n "$name" 2>/dev/null)" && printf '%s=%s\n' "$name" "$value" >>"$dir/sysctl"
  done
  iptables-save >"$dir/iptables" 2>/dev/null || true
  ip6tables-save >"$dir/ip6tables" 2>/dev/null || true
  ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort >"$dir/links"
  local path
  for path in "${HOST_PATHS[@]}"; do [ -e "$path" ] && echo "$path"; done >"$dir/paths"
  ls -1 /run/netns 2>/dev/null | sort >"$dir/netns" || true
  for path in "${HOST_CGROUPS[@]}"; do ls -d /sys/fs/cgroup/*/"$path" 2>/dev/null; done >"$dir/cgroups" || true
  return 0
}

# restore_host_state NAME — puts back what save_host_state NAME recorded, then forgets it.
restore_host_state() {
  local dir="$E2E_RUN/host-state/$1" line link
  [ -d "$dir" ] || return 0
  # Links that appeared meanwhile and belong to an engine (bridges, veth ends, the CNI bridge).
  for link in $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort | comm -13 "$dir/links" -); do
    case "$link" in
      docker0 | br-* | veth* | mpe2e* | cni0 | kube-ipvs0 | nodelocaldns) ip link delete "$link" 2>/dev/null || true ;;
    esac
  done
  if [ -s "$dir/iptables" ]; then iptables-restore <"$dir/iptables" 2>/dev/null || true; fi
  if [ -s "$dir/ip6tables" ]; then ip6tables-restore <"$dir/ip6tables" 2>/dev/null || true; fi
  # Tables iptables-restore leaves alone because they were empty before (nat, mangle…).
  local table
  for table in nat mangle raw filter; do
    if ! grep -q "^\*$table" "$dir/iptables" 2>/dev/null; then
      iptables -t "$table" -F 2>/dev/null || true
      iptables -t "$table" -X 2>/dev/null || true
    fi
    if ! grep -q "^\*$table" "$dir/ip6tables" 2>/dev/null; then
      ip6tables -t "$table" -F 2>/dev/null || true
      ip6tables -t "$table" -X 2>/dev/null || true
    fi
  done
  iptables -P FORWARD "$(sed -nE 's/^:FORWARD ([A-Z]+).*/\1/p' "$dir/iptables" | head -1 | grep . || echo ACCEPT)" 2>/dev/null || true
  while IFS= read -r line; do
    [ "$(sysctl -n "${line%%=*}" 2>/dev/null)" = "${line#*=}" ] || sysctl -q -w "$line" >/dev/null 2>&1 || true
  done <"$dir/sysctl"
  # Network namespaces that appeared (each an nsfs mount), then folders that did not exist before.
  local entry path cgroup
  for entry in $(ls -1 /run/netns 2>/dev/null | sort | comm -13 "$dir/netns" -); do
    umount "/run/netns/$entry" 2>/dev/null || umount -l "/run/netns/$entry" 2>/dev/null || true
    rm -f "/run/netns/$entry"
  done
  for path in "${HOST_PATHS[@]}"; do
    if [ -e "$path" ] && ! grep -qx "$path" "$dir/paths"; then
      unmount_under "$path"
      rm -rf "$path"
    fi
  done
  for path in "${HOST_CGROUPS[@]}"; do
    for cgroup in /sys/fs/cgroup/*/"$path"; do
      if [ -d "$cgroup" ] && ! grep -qx "$cgroup" "$dir/cgroups"; then
        find "$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null || true
      fi
    done
  done
  rm -rf "$dir"
  rmdir "$E2E_RUN/host-state" "$E2E_RUN" 2>/dev/null || true
}

# unmount_under DIR — every mount point below DIR, deepest first (kubelet and containerd leave
# overlay, shm and tmpfs mounts behind when they are killed).
unmount_under() {
  local target
  [ -e "$1" ] || return 0
  for target in $(awk -v prefix="$1" 'index($2, prefix) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
  done
}
