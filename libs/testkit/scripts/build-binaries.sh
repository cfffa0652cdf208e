#!/usr/bin/env bash
# Builds the real control plane (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl,
# etcd, kwok), the kubelet of the real test node, and nats-server from the Go module proxy into a per-version cache outside the
# repository. Idempotent: a component is rebuilt only when its finished binary is missing.
# A build goes to a temporary name and is renamed into place only when complete, so a
# half-finished build is never mistaken for a finished one.
#
#   OCTORUN_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/octorun)   where binaries and Go modules go
#   COMPONENTS (default: all)   any of: kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet etcd kwok nats-server
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.sh
. "$HERE/versions.sh"
CACHE=${OCTORUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/octorun}
BIN=$CACHE/bin/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION-kwok-v$KWOK_VERSION-nats-v$NATS_VERSION
COMPONENTS=${COMPONENTS:-"kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet etcd kwok nats-server"}
K8S_CMDS="kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet"

export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export CGO_ENABLED=0
mkdir -p "$BIN" "$CACHE/go-mod/k8s" "$CACHE/go-mod/etcd"
# One build at a time per cache: a second caller waits here, then finds the binaries built.
exec 9>"$CACHE/.build.lock"
if ! flock -n 9; then
  printf '[octorun setup] another build is running; waiting for it\n' >&2
  flock 9
fi
# Left by a build that was interrupted: never a finished binary, so safe to remove under the lock.
rm -rf "$BIN"/.build.* "$BIN"/.etcd.tmp "$BIN"/.kwok-stages.tmp
say() { printf '[octorun setup] %s\n' "$*" >&2; }
wanted() { [[ " $COMPONENTS " == *" $1 "* ]]; }
missing() { wanted "$1" && [ ! -x "$BIN/$1" ]; }

# ---------------------------------------------------------------- k8s.io/kubernetes
k8s_missing=()
for c in $K8S_CMDS; do if missing "$c"; then k8s_missing+=("$c"); fi; done
if [ ${#k8s_missing[@]} -gt 0 ]; then
  say "building ${k8s_missing[*]} v$K8S_VERSION from the Go module proxy (about 12 minutes cold on 2 cores)"
  cd "$CACHE/go-mod/k8s"
  [ -f go.mod ] || go mod init octorun.invalid/k8s-tools >/dev/null 2>&1
  go mod edit -go=1.26.0
  # k8s.io/kubernetes requires its staging modules at v0.0.0 through local replaces that a
  # consumer ignores; read their list from the published go.mod and pin each to v0.X.Y.
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -s "$gomod" ] || { say "could not download k8s.io/kubernetes@v$K8S_VERSION"; exit 1; }
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/src/k8s\.io/.*#\1#p' "$gomod")
  [ -n "$staging" ] || { say "no staging replaces found in $gomod"; exit 1; }
  staging_version="v0.${K8S_VERSION#1.}"
  for m in $staging; do go mod edit -replace="$m=$m@$staging_version"; done
  go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
  pkgs=()
  for c in "${k8s_missing[@]}"; do go mod edit -tool="k8s.io/kubernetes/cmd/$c"; pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  go mod tidy >/dev/null 2>&1 || say "go mod tidy reported problems; resolving at build time instead"
  minor=${K8S_VERSION#1.}; minor=${minor%%.*}
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  tmp=$(mktemp -d "$BIN/.build.XXXXXX")
  GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
  for c in "${k8s_missing[@]}"; do mv "$tmp/$c" "$BIN/$c"; done
  rm -rf "$tmp"
fi

# ---------------------------------------------------------------- etcd
if missing etcd; then
  say "building etcd v$ETCD_VERSION"
  cd "$CACHE/go-mod/etcd"
  [ -f go.mod ] || go mod init octorun.invalid/etcd-tools >/dev/null 2>&1
  # 'go install go.etcd.io/etcd/server/v3@v…' is refused (local replaces in its go.mod).
  go mod edit -go=1.26.0 -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION" -tool=go.etcd.io/etcd/server/v3
  go mod tidy >/dev/null 2>&1 || say "go mod tidy for etcd reported problems; resolving at build time instead"
  GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$BIN/.etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN/.etcd.tmp" "$BIN/etcd"
fi

# ---------------------------------------------------------------- kwok and its stages
if missing kwok; then
  say "building kwok v$KWOK_VERSION"
  tmp=$(mktemp -d "$BIN/.build.XXXXXX")
  GOFLAGS= GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  mv "$tmp/kwok" "$BIN/kwok"; rm -rf "$tmp"
fi
if wanted kwok && [ ! -s "$BIN/kwok-stages.yaml" ]; then
  GOFLAGS= go mod download "sigs.k8s.io/kwok@v$KWOK_VERSION" >/dev/null
  src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage"
  { for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-delete.yaml; do echo '---'; cat "$src/$f"; done; } > "$BIN/.kwok-stages.tmp"
  mv "$BIN/.kwok-stages.tmp" "$BIN/kwok-stages.yaml"
fi

# ---------------------------------------------------------------- nats-server
if missing nats-server; then
  say "building nats-server v$NATS_VERSION"
  tmp=$(mktemp -d "$BIN/.build.XXXXXX")
  GOFLAGS= GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "github.com/nats-io/nats-server/v2@v$NATS_VERSION"
  mv "$tmp/nats-server" "$BIN/nats-server"; rm -rf "$tmp"
fi
say "binaries ready in $BIN"
echo "$BIN"
