import { execFileSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

/**
 * The Debian 13 directory root that scripts/install-test-deps.sh builds: RabbitMQ 4.0.5 on Erlang 27
 * and Celery 5.5.2 on Python 3.13, beside the host's Debian 12 packages (RabbitMQ 3.10.8, Celery
 * 5.2.6). Processes run in it through chroot(8) and share the host's network, so brokers listen on
 * the host's loopback and host clients reach them (scripts/install-test-deps.sh builds it).
 */
export const RABBITMQ4_ROOT = process.env.CDK_CELERY_RABBITMQ4_ROOT ?? '/opt/cdk-celery-test/rabbitmq4-root';

/** The repository, mounted at the same path in the root so the harness app and driver are there too. */
const REPOSITORY = resolve(__dirname, '..', '..');

/** Whether the root is installed (and complete: the install script renames it into place at the end). */
export function rabbitMq4RootInstalled(): boolean {
  return existsSync(join(RABBITMQ4_ROOT, '.cdk-celery-complete'))
    && existsSync(join(RABBITMQ4_ROOT, 'usr/lib/rabbitmq/bin/rabbitmq-server'));
}

/** The numeric ids of a user of the root (its /etc/passwd, not the host's: they differ). */
export function rootUserIds(name: string): { uid: number; gid: number } {
  const line = readFileSync(join(RABBITMQ4_ROOT, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no user ${name} in ${RABBITMQ4_ROOT}/etc/passwd`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A path of the host made visible at the same path inside the root. */
export interface RootMount {
  readonly path: string;
  readonly how: 'proc' | 'bind';
}

// Paths visible at the same place inside and outside the root: the kernel's views Erlang and
// Python need, the temporary directory (broker directories, events files, sockets) and the
// repository (the harness' Celery app and driver).
const SHARED_MOUNTS: RootMount[] = [
  { path: '/proc', how: 'proc' },
  { path: '/dev', how: 'bind' },
  // Python's multiprocessing (Celery's prefork pool) needs POSIX semaphores in /dev/shm, a mount of its own.
  { path: '/dev/shm', how: 'bind' },
  { path: tmpdir(), how: 'bind' },
];

// A bind mount is current only while it shows the directory it was made from (same device and
// inode). A directory deleted and created again at the same path, as a CI workspace cloned afresh
// at the path of the last run's, leaves the root's mount on the deleted directory, where every file
// is missing; such a mount is detached and made again. Paths are arguments, never script text.
const MOUNT_SCRIPT = `
root=$1; shift
while [ $# -gt 0 ]; do
  how=$1; path=$2; shift 2
  target=$root$path
  if [ "$how" = bind ] && mountpoint -q "$target" \
    && [ "$(stat -c %d:%i -- "$target")" != "$(stat -c %d:%i -- "$path")" ]; then
    umount -l -- "$target"
  fi
  if ! mountpoint -q "$target"; then
    mkdir -p -- "$target"
    if [ "$how" = proc ]; then mount -t proc proc "$target"; else mount --bind -- "$path" "$target"; fi
  fi
done
cp /etc/hosts "$root/etc/hosts"
`;

/**
 * Mount what processes in the root need, once per boot (mounts outlive the test process; they are
 * harmless and the next run finds them, or replaces them when they show a deleted directory).
 */
export function ensureRabbitMq4RootMounts(): void {
  const mounts = [...SHARED_MOUNTS];
  // The repository is already visible when it lives below the shared temporary directory.
  if (!isBelow(REPOSITORY, tmpdir())) mounts.push({ path: REPOSITORY, how: 'bind' });
  mountIntoRoot(mounts);
}

/**
 * Make each path visible at the same path in the root, in order (a mount below another comes after
 * it), keeping mounts that are current. Serialised with flock(1): parallel jest workers race here.
 */
export function mountIntoRoot(mounts: RootMount[]): void {
  if (!rabbitMq4RootInstalled()) {
    throw new Error(`${RABBITMQ4_ROOT} is not installed: run scripts/install-test-deps.sh (it builds the RabbitMQ 4 root)`);
  }
  const args = mounts.flatMap(({ path, how }) => [how, resolve(path)]);
  execFileSync('flock', [join(RABBITMQ4_ROOT, '.cdk-celery-mount.lock'), '/bin/sh', '-ec', MOUNT_SCRIPT, 'mount-into-root', RABBITMQ4_ROOT, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000,
  });
}

/**
 * The argv that runs `argv` (absolute paths inside the root) in the root, in directory `cwd` (a
 * shared path), as `user` (numeric ids of the root; root when unset). chroot(8) itself changes to
 * `/`, hence the small shell.
 */
export function inRootArgv(argv: string[], options: { cwd?: string; user?: { uid: number; gid: number } } = {}): string[] {
  const userspec = options.user ? [`--userspec=${options.user.uid}:${options.user.gid}`, `--groups=${options.user.gid}`] : [];
  return ['chroot', ...userspec, RABBITMQ4_ROOT, '/bin/sh', '-c', 'cd "$0" && exec "$@"', options.cwd ?? '/', ...argv];
}

function isBelow(path: string, dir: string): boolean {
  const d = resolve(dir);
  return path === d || path.startsWith(d.endsWith('/') ? d : `${d}/`);
}
