import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { RABBITMQ4_ROOT, inRootArgv, mountIntoRoot } from './rabbitmq4-root';

// The root sees the repository through a bind mount that outlives the test run. CI clones main
// afresh at the same path every time; the last run's mount then showed the deleted clone, and every
// suite that ran Celery in the root failed with "can't open file .../celery_oracle.py".

/** Mounts of the host's mount table at `target`. */
function mountsAt(target: string): number {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line.split(' ')[4] === target).length;
}

/** What `cat` run inside the root prints for `path`. */
function catInRoot(path: string): string {
  const argv = inRootArgv(['/bin/cat', path]);
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' });
}

describe('mountIntoRoot', () => {
  // Outside the temporary directory, which the root shares whole.
  const parent = mkdtempSync('/var/tmp/cdk-celery-mount-test-');
  const workspace = join(parent, 'main');
  const target = `${RABBITMQ4_ROOT}${workspace}`;

  beforeEach(() => {
    rmSync(workspace, { recursive: true, force: true });
    mkdirSync(workspace);
  });

  afterAll(() => {
    while (mountsAt(target) > 0) execFileSync('umount', ['-l', target]);
    rmSync(`${RABBITMQ4_ROOT}${parent}`, { recursive: true, force: true });
    rmSync(parent, { recursive: true, force: true });
  });

  test('a directory deleted and created again at the same path is seen anew in the root', () => {
    writeFileSync(join(workspace, 'marker'), 'first clone');
    mountIntoRoot([{ path: workspace, how: 'bind' }]);
    expect(catInRoot(join(workspace, 'marker'))).toBe('first clone');

    rmSync(workspace, { recursive: true });
    mkdirSync(workspace);
    writeFileSync(join(workspace, 'marker'), 'second clone');
    mountIntoRoot([{ path: workspace, how: 'bind' }]);

    expect(catInRoot(join(workspace, 'marker'))).toBe('second clone');
  });

  test('a current mount is kept, not stacked', () => {
    writeFileSync(join(workspace, 'marker'), 'kept');
    mountIntoRoot([{ path: workspace, how: 'bind' }]);
    const before = mountsAt(target);
    mountIntoRoot([{ path: workspace, how: 'bind' }]);

    expect(mountsAt(target)).toBe(before);
    expect(catInRoot(join(workspace, 'marker'))).toBe('kept');
  });
});
