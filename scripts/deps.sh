#!/usr/bin/env bash
# scripts/deps.sh — install the Debian packages monostack needs (idempotent).
#
# Usage: scripts/deps.sh [build|test]
#   build  packages to build and run monostack (compiler, libraries)
#   test   everything: build + the packages used by the test suites
#          (PostgreSQL, OpenStack clients, Tempest, pytest, wrk, curl, QEMU)
#
# Checks with dpkg-query which packages are missing and is a fast no-op when
# none are. Otherwise, as root it runs `apt-get update` once and
# `apt-get install -y` non-interactively; as another user it prints the
# command to run and exits 1.
set -euo pipefail

BUILD_PKGS=(
  build-essential pkg-config
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev libssl-dev
  libcrypt-dev libinih-dev libyaml-dev libcmocka-dev
  clang            # libFuzzer (-fsanitize=fuzzer)
)
TEST_PKGS=(
  postgresql
  python3-openstackclient python3-openstacksdk
  tempest python3-subunit python3-stestr
  python3-pytest python3-cryptography   # Fernet compatibility vectors in the unit tests
  wrk curl openssl                      # bench; TLS certificate for the API tests
  qemu-system-x86 qemu-utils            # the compute qemu driver; qemu-img for test images
)

mode="${1:-test}"
case "$mode" in
  build) wanted=("${BUILD_PKGS[@]}") ;;
  test)  wanted=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}") ;;
  -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

# A package counts as present only when dpkg says "install ok installed".
missing=()
for p in "${wanted[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "deps.sh: missing packages: ${missing[*]}" >&2
if [[ "$(id -u)" != 0 ]]; then
  echo "deps.sh: run as root:" >&2
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing[*]}"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
