import { BROKER_ENV_FILE, DEFAULT_INSTANCE_LAYOUT, INSTANCE_ENV_FILE, WorkerInstanceLayout, layoutPath } from './instance-layout';

/**
 * Reads the credentials secret (JSON `username`, `password`, optional `vhost`) on stdin and the
 * broker host and port as arguments; prints `CELERY_BROKER_URL=amqps://...` with user, password
 * and vhost percent-encoded (`quote(..., safe='')`), so `/ @ % # ? + :` in a password survive.
 * The host must be a DNS name or IPv4 address and the port a number: they may come from a
 * CloudFormation value, and the env file is read by bash as well as by systemd, so anything else
 * (a scheme, a `$(...)`) stops the boot with a message instead of reaching the file. The printed
 * value therefore only holds `A-Za-z0-9_.~-`, `%`, `:`, `@` and `/`, which bash and systemd's
 * `EnvironmentFile=` both read literally. No single quotes: it is embedded in a bash single-quoted
 * word.
 */
export const BROKER_URL_PYTHON = [
  'import json, re, sys, urllib.parse',
  'host, port = sys.argv[1], sys.argv[2]',
  'label = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"',
  'if len(host) > 253 or not re.fullmatch(label + r"(\\." + label + r")*", host) or not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:',
  '    sys.exit("cdk-celery: broker host %r / port %r is not a DNS name and a port; check the broker endpoint" % (host, port))',
  's = json.load(sys.stdin)',
  'q = lambda v: urllib.parse.quote(v, safe="")',
  'print("CELERY_BROKER_URL=amqps://%s:%s@%s:%s/%s" % (q(s["username"]), q(s["password"]), host, port, q(s.get("vhost") or "/")))',
].join('\n');

/** Options of the broker env script. */
export interface BrokerEnvScriptOptions {
  /**
   * Paths on the instance.
   * @default DEFAULT_INSTANCE_LAYOUT
   */
  readonly layout?: WorkerInstanceLayout;
}

/**
 * Writes the root-only (0600) env file the worker unit reads with `EnvironmentFile=`: the broker
 * URL built from the credentials secret at boot. The URL is never in user data or the template.
 * `BROKER_SECRET_ID`, `BROKER_HOST` and `BROKER_PORT` come from the instance env file.
 * Re-run it (and restart the worker) after rotating the secret.
 */
export function renderBrokerEnvScript(options: BrokerEnvScriptOptions = {}): string {
  const layout = options.layout ?? DEFAULT_INSTANCE_LAYOUT;
  const envFile = layoutPath(layout.configDir, BROKER_ENV_FILE);
  return `#!/bin/bash
# cdk-celery: build the broker URL from the credentials secret into a root-only env file.
set -euo pipefail
# shellcheck source=/dev/null
. ${layoutPath(layout.configDir, INSTANCE_ENV_FILE)}
umask 077
tmp=$(mktemp ${envFile}.XXXXXX)
trap 'rm -f "\${tmp}"' EXIT
aws secretsmanager get-secret-value --secret-id "\${BROKER_SECRET_ID}" --query SecretString --output text \\
  | python3 -c '${BROKER_URL_PYTHON}' "\${BROKER_HOST}" "\${BROKER_PORT}" > "\${tmp}"
chmod 0600 "\${tmp}"
mv -f "\${tmp}" ${envFile}
`;
}
