#!/usr/bin/env bash
# Renders and validates the Kubernetes manifests of deploy/k8s without a
# cluster: kustomize builds each kustomization, kubeconform checks every
# resource strictly (unknown fields are errors) against the schemas vendored
# in deploy/k8s/schemas (scripts/k8s-schemas.py; kubeconform's default
# schema source is not reachable from everywhere). Both tools are Go modules,
# built by `go run` at pinned versions.
#
#   scripts/k8s.sh check        every kustomization: build, validate
#   scripts/k8s.sh build DIR    the rendered manifests of DIR (e.g. deploy/k8s/base)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KUSTOMIZE=(go run sigs.k8s.io/kustomize/kustomize/v5@v5.8.1)
KUBECONFORM=(go run github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0)
SCHEMAS="$ROOT/deploy/k8s/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json"

build() { "${KUSTOMIZE[@]}" build "$1"; }

check() {
	local dir out
	for dir in deploy/k8s/base deploy/k8s/overlays/*; do
		out="$(build "$dir")"
		printf '%s\n' "$out" | "${KUBECONFORM[@]}" -strict -summary -output text \
			-kubernetes-version 1.35.0 -schema-location "$SCHEMAS" |
			sed "s|^|$dir: |"
		# An unvendored kind would be reported as a missing schema above.
	done
}

case "${1:-}" in
check) check ;;
build) build "${2:?build DIR}" ;;
*)
	echo "usage: $0 check | build DIR" >&2
	exit 2
	;;
esac
