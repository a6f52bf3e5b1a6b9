import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { builtinModules } from 'module';
import { join, relative } from 'path';

/*
 * The Lambda handlers' bundles (assets/, built by `npx projen bundle` from src/**\/*.lambda.ts)
 * leave out the AWS SDK v3: the nodejs22.x runtime provides every @aws-sdk/client-* package. A
 * bundle that required anything else (another @aws-sdk package, a third-party module) would fail
 * in Lambda with "Cannot find module", though every test here resolves it from node_modules.
 */
const root = join(__dirname, '..');

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : files(path, suffix);
    return path.endsWith(suffix) ? [path] : [];
  });
}

const handlers = files(join(root, 'src'), '.lambda.ts').map((source) => relative(join(root, 'src'), source).replace(/\.ts$/, ''));

test('every handler has a bundle (run `npx projen bundle` first)', () => {
  expect(handlers.length).toBeGreaterThanOrEqual(4);
  expect(handlers.filter((handler) => !existsSync(join(root, 'assets', handler, 'index.js')))).toEqual([]);
});

describe.each(handlers)('%s bundle', (handler) => {
  const bundle = () => readFileSync(join(root, 'assets', handler, 'index.js'), 'utf8');
  const providedByRuntime = (module: string) =>
    builtinModules.includes(module.replace(/^node:/, '')) || /^@aws-sdk\/client-[a-z0-9-]+$/.test(module);

  test('requires only Node.js built-ins and the AWS SDK clients the runtime provides', () => {
    const required = [...new Set([...bundle().matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]))];
    expect(required.some((module) => module.startsWith('@aws-sdk/'))).toBe(true);
    expect(required.filter((module) => !providedByRuntime(module))).toEqual([]);
  });

  test('bundles no module from node_modules, the SDK included (esbuild marks each with a path comment)', () => {
    expect(bundle().match(/^\/\/ node_modules\/.*$/gm) ?? []).toEqual([]);
  });
});
