#!/usr/bin/env bash
# Build the real Kubernetes control plane the end-to-end tests run against, once per version:
# etcd, kube-apiserver, kube-controller-manager and kubectl, from Go modules (tools/kube, tools/etcd).
# The binaries live in a cache outside the clone, keyed by the modules' go.mod/go.sum and this script,
# and are linked into .tools/kube/bin/. A current cache is reused without running Go at all.
# Needs: Go (go.mod's version) and the Go module proxy. Nothing else on the machine is assumed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
KUBE_VERSION=v1.37.2   # k8s.io/kubernetes in tools/kube/go.mod
ETCD_VERSION=v3.7.0    # go.etcd.io/etcd/server/v3 in tools/etcd/go.mod (the version Kubernetes 1.37.2 pins)

key="$(cat tools/kube/go.mod tools/kube/go.sum tools/etcd/go.mod tools/etcd/go.sum .ci/kube.sh | sha256sum | cut -c1-16)"
CACHE="${ERPSYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/erp-sync-operator}/kube/$KUBE_VERSION-$key"
LINK="$ROOT/.tools/kube/bin"

link() {
    mkdir -p "$(dirname "$LINK")"
    ln -sfn "$CACHE/bin" "$LINK"
}

if [ -f "$CACHE/bin/.complete" ]; then
    link
    echo "control plane $KUBE_VERSION (etcd $ETCD_VERSION): cached in $CACHE"
    exit 0
fi

command -v go >/dev/null || { echo "kube.sh: Go is needed to build the control plane (none on PATH)" >&2; exit 1; }
# A module that needs a newer Go than the machine's must fail here, not download a toolchain.
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
started=$SECONDS
step() { echo "[kube.sh $((SECONDS - started))s] $*"; }

mkdir -p "$CACHE/bin.partial"
step "downloading modules (tools/kube, tools/etcd)"
(cd tools/kube && go mod download)
(cd tools/etcd && go mod download)

# The variables Kubernetes' own build stamps (hack/lib/version.sh), so `kubectl version` and /version tell
# the truth. No build date: the same flags every time keep a rebuild a no-op in Go's build cache.
minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for kv in "gitVersion=$KUBE_VERSION" gitMajor=1 "gitMinor=$minor" gitTreeState=clean; do
    ldflags="$ldflags -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
done
for program in kube-apiserver kube-controller-manager kubectl; do
    step "building $program $KUBE_VERSION (cold: several minutes on 2 cores)"
    (cd tools/kube && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" \
        -o "$CACHE/bin.partial/$program" "k8s.io/kubernetes/cmd/$program")
done
step "building etcd $ETCD_VERSION"
(cd tools/etcd && go build -trimpath -ldflags "-s -w" -o "$CACHE/bin.partial/etcd" go.etcd.io/etcd/server/v3)

"$CACHE/bin.partial/kubectl" version --client
"$CACHE/bin.partial/kube-apiserver" --version
"$CACHE/bin.partial/etcd" --version | head -n 1
rm -rf "$CACHE/bin"
mv "$CACHE/bin.partial" "$CACHE/bin"
touch "$CACHE/bin/.complete"
link
step "control plane ready in $LINK"
