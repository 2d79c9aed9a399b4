#!/usr/bin/env bash
# Debian packages used by the tests only: python3-rpm (rpm.labelCompare, an oracle for rpmvercmp).
set -euo pipefail
need=()
/usr/bin/python3 -c 'import rpm' 2>/dev/null || need+=(python3-rpm)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages for the tests: ${need[*]} (run as root: apt-get install -y ${need[*]})" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${need[@]}" >/dev/null
