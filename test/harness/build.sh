#!/usr/bin/env bash
# Builds the real upstream components the tests run against, from Go modules:
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd  (test/harness/k8s)
#   otelcol-harness: OTLP receiver -> file/prometheus/debug exporters  (test/harness/otelcol)
#   kwok (simulated nodes and kubelets)  (test/harness/kwok)
#   metrics-server (metrics.k8s.io from the nodes' /metrics/resource)  (test/harness/metrics-server)
#   helm (the chart's tests: lint, template, install/upgrade/uninstall)  (test/harness/helm)
#   crane (go-containerregistry: assembles and checks the OCI image, npm run image)  (test/harness/crane)
# kwok, metrics-server, helm and crane each have their own module: in the k8s module MVS would raise the
# dependencies they share with Kubernetes, and the control plane would no longer be the pinned one.
# Binaries are cached by a hash of everything that affects them; a warm run is a no-op.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
. "$here/versions.env"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false -mod=readonly"
export PATH="$PATH:/usr/local/go/bin"

if ! command -v go >/dev/null 2>&1; then
  echo "harness build: Go is not installed (need $GO at /usr/local/go or on PATH)" >&2; exit 1
fi
have="$(go env GOVERSION)"
if [ "$have" != "$GO" ]; then
  echo "harness build: need $GO, found $have (set PATH to the pinned Go)" >&2; exit 1
fi

K8S_LD="-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S" | cut -d. -f2)"
key="$( {
  go version; go env GOOS GOARCH; echo "$K8S_LD"
  cat "$here/versions.env" "$here/build.sh"
  find "$here/k8s" "$here/otelcol" "$here/kwok" "$here/metrics-server" "$here/helm" "$here/crane" -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | sort -z | xargs -0 cat
} | sha256sum | cut -c1-16)"

cache="${HARNESS_CACHE:-$HOME/.cache/scalepass-harness}"
out="$cache/$key"
link="$here/bin"
if [ -f "$out/.complete" ]; then
  ln -sfn "$out" "$link"
  echo "harness binaries up to date ($key)"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$out/.complete" ]; then ln -sfn "$out" "$link"; echo "harness binaries up to date ($key)"; exit 0; fi

# The pinned versions in versions.env are the ones the modules require (a bump touches both).
for pin in "kwok sigs.k8s.io/kwok $KWOK" "metrics-server sigs.k8s.io/metrics-server $METRICS_SERVER" "k8s k8s.io/kubernetes $K8S" "helm helm.sh/helm/v4 $HELM" "crane github.com/google/go-containerregistry $CRANE"; do
  set -- $pin
  if ! grep -Eq "^\s*$2 $3( |$)" "$here/$1/go.mod"; then
    echo "harness build: $1/go.mod does not require $2 $3 (versions.env); bump both together" >&2; exit 1
  fi
done

tmp="$out.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
timed() { # name, then the command; prints wall seconds and peak RSS of the build
  local name=$1; shift
  local t0; t0=$(date +%s)
  if ! /usr/bin/time -f "%M" -o "$tmp/.rss-$name" "$@" >"$tmp/.log-$name" 2>&1; then
    echo "harness build: $name FAILED; last lines:" >&2; tail -n 40 "$tmp/.log-$name" >&2; exit 1
  fi
  echo "harness build: $name $(( $(date +%s) - t0 ))s, peak RSS $(( $(cat "$tmp/.rss-$name") / 1024 )) MiB" >&2
}

echo "harness build: building into $out (first build on a machine takes a while: downloads + compile)" >&2
(cd "$here/k8s"
 timed etcd go build -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
 timed kube-apiserver go build -ldflags "$K8S_LD" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
 timed kube-controller-manager go build -ldflags "$K8S_LD" -o "$tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager
 timed kube-scheduler go build -ldflags "$K8S_LD" -o "$tmp/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler
 timed kubectl go build -ldflags "$K8S_LD" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl)
(cd "$here/otelcol"
 timed otelcol-harness go build -ldflags "-s -w" -o "$tmp/otelcol-harness" .)
(cd "$here/kwok"
 timed kwok go build -ldflags "-s -w" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)
(cd "$here/metrics-server"
 timed metrics-server go build -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER" -o "$tmp/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server)
# helm's Makefile sets its version the same way (a release build has no metadata)
(cd "$here/helm"
 timed helm go build -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM" -o "$tmp/helm" helm.sh/helm/v4/cmd/helm)
(cd "$here/crane"
 timed crane go build -ldflags "-s -w" -o "$tmp/crane" github.com/google/go-containerregistry/cmd/crane)

"$tmp/kube-apiserver" --version >/dev/null
"$tmp/kube-controller-manager" --version >/dev/null
"$tmp/kube-scheduler" --version >/dev/null
"$tmp/kwok" --version >/dev/null
"$tmp/metrics-server" --version >/dev/null
"$tmp/kubectl" version --client >/dev/null
"$tmp/etcd" --version >/dev/null
"$tmp/otelcol-harness" --version >/dev/null
[ "$("$tmp/helm" version --template '{{.Version}}')" = "$HELM" ] || { echo "harness build: helm does not report $HELM" >&2; exit 1; }
"$tmp/crane" version >/dev/null
rm -f "$tmp"/.log-* "$tmp"/.rss-*
rm -rf "$out"; mv "$tmp" "$out"; touch "$out/.complete"
ln -sfn "$out" "$link"
echo "harness binaries built ($key)"
