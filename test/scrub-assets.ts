/**
 * Makes a synthesized template stable for snapshots; every snapshot of a template goes through it.
 * Asset hashes (64 hex digits, with an optional .zip/.json suffix) change with every change of a
 * bundled handler or of the worker code, and the bootstrap's asset bucket names with the
 * bootstrap qualifier: neither is what a snapshot is about.
 */
export function scrubAssets<T>(template: T): T {
  const json = JSON.stringify(template)
    .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '<asset-hash>$1')
    .replace(/cdk-[a-z0-9]+-assets-[A-Za-z0-9${}:.-]*/g, '<asset-bucket>');
  return JSON.parse(json) as T;
}
