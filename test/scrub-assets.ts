/**
 * Makes a synthesized template stable across builds for snapshots: asset hashes (64 hex digits,
 * with an optional .zip/.json suffix) and bootstrap asset bucket names change with every code or
 * bootstrap change, which the snapshot is not about.
 */
export function scrubAssets<T>(template: T): T {
  const json = JSON.stringify(template)
    .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '<asset-hash>$1')
    .replace(/cdk-[a-z0-9]+-assets-[A-Za-z0-9${}:.-]*/g, '<asset-bucket>');
  return JSON.parse(json) as T;
}
