#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks, from Debian's
# packages (the only source besides npm that these machines reach). Says
# clearly what is missing when it cannot install it.
set -euo pipefail

need_root() {
  if [ "$(id -u)" != "0" ]; then
    echo "provision: $1 is missing and installing it needs root; install it (apt-get install -y $2) or run as root" >&2
    exit 1
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = "0" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

for what in "$@"; do
  case "$what" in
    chromium)
      if [ -x "${BERTH_CHROMIUM:-/usr/bin/chromium}" ]; then continue; fi
      need_root "Chromium (for the Playwright tests)" chromium
      echo "provision: installing Chromium from Debian's packages (about a minute)"
      apt_install chromium
      ;;
    openssl)
      # The agent's TLS tests make a throw-away CA with it.
      if command -v openssl >/dev/null 2>&1; then continue; fi
      need_root "openssl (for the agent TLS tests)" openssl
      apt_install openssl
      ;;
    python3)
      # The audit tests run the second, independent export verifier printed in docs/audit-verification.md.
      if command -v python3 >/dev/null 2>&1; then continue; fi
      need_root "python3 (for the audit verifier test)" python3
      apt_install python3
      ;;
    docker)
      if ! command -v dockerd >/dev/null 2>&1; then
        need_root "the Docker Engine" docker.io
        echo "provision: installing the Docker Engine from Debian's packages"
        apt_install docker.io
      fi
      if ! docker info >/dev/null 2>&1; then
        need_root "a running Docker Engine" docker.io
        echo "provision: starting dockerd"
        (dockerd >/var/log/berth-dockerd.log 2>&1 &)
        for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
        docker info >/dev/null 2>&1 || { echo "provision: dockerd did not start; see /var/log/berth-dockerd.log" >&2; exit 1; }
      fi
      ;;
    docker-compose)
      # deploy/compose.integration.test.ts validates docker-compose.yml with Compose itself.
      # Debian bookworm packages Compose 1.29 (docker-compose); the v2 plugin does as well.
      if docker compose version >/dev/null 2>&1 || docker-compose version >/dev/null 2>&1; then continue; fi
      need_root "Docker Compose (for the docker-compose.yml test)" docker-compose
      echo "provision: installing docker-compose from Debian's packages"
      apt_install docker-compose
      ;;
    *)
      echo "provision: unknown requirement $what" >&2
      exit 2
      ;;
  esac
done
