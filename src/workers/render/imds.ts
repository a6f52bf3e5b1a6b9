import { WorkerInstanceLayout } from './instance-layout';

/**
 * Lifetime of the IMDSv2 session token. Each call fetches a fresh token and uses it at once, so a
 * minute is ample; the fleet's launch template requires IMDSv2 (tokens), so there is no fallback.
 */
export const IMDS_TOKEN_TTL_SECONDS = 60;

/**
 * The bash function `imds PATH` that the boot and drain scripts read instance metadata with: it
 * prints `latest/meta-data/PATH`, or fails (non-zero, nothing printed) when the token or the read
 * fails. A failed token request stops it before the read: without a token, IMDSv2 refuses the
 * read anyway, and the failure should say where it happened.
 */
export function renderImdsFunction(layout: WorkerInstanceLayout): string {
  return `imds() {
  local token
  token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: ${IMDS_TOKEN_TTL_SECONDS}' ${layout.imdsUrl}/latest/api/token) || return 1
  curl -sf -H "X-aws-ec2-metadata-token: \${token}" "${layout.imdsUrl}/latest/meta-data/$1"
}
`;
}
