import { BROKER_ENV_FILE, DEFAULT_INSTANCE_LAYOUT, INSTANCE_ENV_FILE, WorkerInstanceLayout, layoutPath } from './instance-layout';

/**
 * Reads the credentials secret (JSON `username`, `password`, optional `vhost`) on stdin and the
 * broker host and port as arguments; prints `CELERY_BROKER_URL=amqps://...` with user, password
 * and vhost percent-encoded (`quote(..., safe='')`), so `/ @ % # ? + :` in a password survive.
 * The host must look like a DNS name or IPv4 address (letters, digits, `.` and `-`) and the port
 * be a number: they may come from a CloudFormation value, and the env file is read by bash as well
 * as by systemd, so anything else (a scheme, a port, a `$(...)`) stops the boot with a message
 * instead of reaching the file. The printed
 * value therefore only holds `A-Za-z0-9_.~-`, `%`, `:`, `@` and `/`, which bash and systemd's
 * `EnvironmentFile=` both read literally. No single quotes: it is embedded in a bash single-quoted
 * word.
 */
export const BROKER_URL_PYTHON = [
  'import json, re, sys, urllib.parse',
  'h, p = sys.argv[1:3]',
  'if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}", h + ":" + p) or not 0 < int(p) < 65536:',
  '    sys.exit("cdk-celery: broker endpoint %r:%r is not HOST:PORT" % (h, p))',
  's = json.load(sys.stdin)',
  'q = lambda v: urllib.parse.quote(v, safe="")',
  'print("CELERY_BROKER_URL=amqps://%s:%s@%s:%s/%s" % (q(s["username"]), q(s["password"]), h, p, q(s.get("vhost") or "/")))',
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
