#!/usr/bin/env bash
# Installs what the end-to-end tests and benchmarks run against: a real RabbitMQ, Celery 5.2.6
# (Debian, the line that exits 0 after a crash) and a current Celery in a venv, plus the linters
# the generated boot scripts and systemd units must pass. Idempotent; needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

CELERY_CURRENT_VERSION="${CELERY_CURRENT_VERSION:-5.6.3}"
# Outside /tmp, /var/tmp, /home and /root: the end-to-end tests run the worker unit under a real
# systemd, and its sandbox (PrivateTmp, ProtectHome) hides those, wherever the repo is cloned.
# test/harness/celery.ts has the same default.
VENV_DIR="${CELERY_VENV_DIR:-/opt/cdk-celery-test/venv}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# iproute2 (ss) and procps (ps): the test harness attributes broker connections to workers and
# finds the namespaced systemd with them; slim images lack both.
packages=(rabbitmq-server python3-celery python3-venv python3-click-didyoumean python3-click-repl
  shellcheck systemd iproute2 procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian starts the packaged broker as a service where it can; the tests start their own.
$SUDO systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true

if [ ! -x "$VENV_DIR/bin/celery" ] || ! "$VENV_DIR/bin/celery" --version | grep -q "^${CELERY_CURRENT_VERSION} "; then
  $SUDO /usr/bin/python3 -m venv --system-site-packages "$VENV_DIR"
  $SUDO "$VENV_DIR/bin/pip" install -q "celery==${CELERY_CURRENT_VERSION}"
fi
echo "celery (Debian): $(/usr/bin/python3 -m celery --version)"
echo "celery (venv):   $("$VENV_DIR/bin/celery" --version)"
echo "rabbitmq-server: $(dpkg-query -W -f='${Version}' rabbitmq-server)"
