import { execFile } from 'child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative } from 'path';
import { promisify } from 'util';

/*
 * A user's snapshot of a stack must not depend on where or by whom it was synthesized. This
 * synthesizes the example app with the real `cdk synth` (cdk.json's app: bundling the Lambda
 * handlers, then the app) in two copies of this repository that differ in everything a machine
 * can differ in short of the toolchain: the clone path (and its depth), file modes (a group-
 * writable umask), modification times, HOME and TZ. The two cdk.out directories (templates,
 * asset manifests, staged assets, tree) must be byte-identical, without scrubbing anything.
 * It takes a minute or two: each copy bundles and synthesizes from scratch.
 */
jest.setTimeout(600_000);

const repo = join(__dirname, '..', '..');

async function copyRepository(to: string, groupWritable: boolean): Promise<void> {
  // The files a clone has: tracked ones and new ones not ignored (so uncommitted work is tested too).
  const { stdout } = await promisify(execFile)('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
  for (const file of stdout.split('\0').filter(Boolean)) {
    const source = join(repo, file);
    if (!statSync(source, { throwIfNoEntry: false })?.isFile()) continue; // deleted in the work tree
    mkdirSync(dirname(join(to, file)), { recursive: true });
    copyFileSync(source, join(to, file));
  }
  // As a umask of 002 creates them.
  if (groupWritable) await promisify(execFile)('chmod', ['-R', 'g+w', to]);
  // The Lambda bundles import nothing from node_modules but the runtime's SDK (external), so a
  // shared node_modules leaves no path of this machine in them.
  symlinkSync(join(repo, 'node_modules'), join(to, 'node_modules'));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => entry.isDirectory()
    ? filesUnder(join(dir, entry.name)).map((file) => join(entry.name, file))
    : [entry.name]).sort();
}

async function synth(clone: string, env: NodeJS.ProcessEnv): Promise<string> {
  await promisify(execFile)(join(clone, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--no-notices'], {
    cwd: clone, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024,
  });
  return join(clone, 'cdk.out');
}

describe('the example app synthesizes byte-identical output', () => {
  const work = mkdtempSync(join(tmpdir(), 'cdk-celery-reproducible-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('from two clones at different paths, with different file modes, HOME and TZ', async () => {
    const first = join(work, 'a', 'cdk-celery');
    const second = join(work, 'b', 'a-longer', 'clone-path', 'cdk-celery');
    await copyRepository(first, false);
    await copyRepository(second, true);
    mkdirSync(join(work, 'home'));
    const [outA, outB] = await Promise.all([
      synth(first, { TZ: 'UTC' }),
      synth(second, { TZ: 'Asia/Kolkata', HOME: join(work, 'home') }),
    ]);

    const files = filesUnder(outA);
    expect(files).toContain('CdkCeleryExample.template.json');
    expect(files.filter((f) => f.startsWith('asset.')).length).toBeGreaterThanOrEqual(5);
    expect(filesUnder(outB)).toEqual(files);
    const differing = files.filter((file) => !readFileSync(join(outA, file)).equals(readFileSync(join(outB, file))));
    expect(differing).toEqual([]);
    // Neither clone's path leaks into the output.
    for (const file of files) {
      const text = readFileSync(join(outB, file), 'latin1');
      expect({ file, leaks: [work, relative('/', work)].filter((p) => text.includes(p)) }).toEqual({ file, leaks: [] });
    }
  });
});
