#!/usr/bin/env bash
# Validates the Kubernetes example (deploy/k8s) with real Kubernetes tooling: kustomize (in
# kubectl) renders it, and kubernetes-validate (PyPI) checks every object strictly against the
# API schemas of two Kubernetes versions; a deliberately broken copy must be refused, so the
# check is known to bite. Needs kubectl and python3 (a venv at VENV, default
# ~/.cache/llmw-venv, gets kubernetes-validate). No cluster is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-$HOME/.cache/llmw-venv}
[ -x "$venv/bin/kubernetes-validate" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q kubernetes-validate; }
validate="$venv/bin/kubernetes-validate"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== kubectl kustomize deploy/k8s ($(kubectl version --client 2>/dev/null | head -1))"
kubectl kustomize deploy/k8s > "$out/rendered.yaml"
grep -c '^kind:' "$out/rendered.yaml" | sed 's/^/  objects: /'

for version in 1.29.0 1.37.0; do
  echo "== kubernetes-validate --strict, Kubernetes $version ($("$validate" --version))"
  "$validate" --strict -k "$version" "$out/rendered.yaml" deploy/k8s/analyze-job.yaml deploy/k8s/fetch-pod.yaml
done

echo "== a broken Job is refused (a misspelt field, a string where a number goes)"
sed -e 's/completionMode: Indexed/completionMod: Indexed/' -e 's/parallelism: 4/parallelism: four/' \
  "$out/rendered.yaml" > "$out/broken.yaml"
if "$validate" --strict "$out/broken.yaml" > "$out/broken.log" 2>&1; then
  echo "  FAIL: the broken manifest passed"; exit 1
fi
grep -E "ERROR|error" "$out/broken.log" | head -3 | sed 's/^/  /'
echo "ok"
