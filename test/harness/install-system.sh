#!/usr/bin/env bash
# Debian packages the harness needs (Prometheus, openssl, nats-server; binutils' strip and readelf for
# npm run image). Idempotent; never starts the packaged daemons.
set -euo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
{ command -v nats-server || test -x /usr/sbin/nats-server; } >/dev/null 2>&1 || need+=(nats-server)
{ command -v strip && command -v readelf; } >/dev/null 2>&1 || need+=(binutils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "harness: missing Debian packages: ${need[*]} (run as root: apt-get install --no-install-recommends ${need[*]})" >&2
  exit 1
fi
echo "harness: installing ${need[*]} from Debian" >&2
# keep the packaged prometheus daemon from starting on :9090 during install
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
