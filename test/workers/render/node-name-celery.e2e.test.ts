import * as fc from 'fast-check';
import { bashNodeNames } from './node-name-bash';
import { celeryNodeName, nodeNameTemplateError } from '../../../src/workers/render';
import { nastyString } from '../../generative/arbitraries';
import { askCelery, oracleInstalls } from '../../generative/celery-oracle';
import { GENERATIVE_SEED, runsOf } from '../../generative/runs';

jest.setTimeout(120_000);

/*
 * The boot script waits for the worker by node name. If it waits for another name than the one
 * Celery gives the worker, readiness never comes and every deployment rolls back. Celery's own
 * code (both versions) is the oracle; the boot script's bash computes the name on the host.
 */

const HOSTS = ['ip-10-0-1-5.eu-west-1.compute.internal', 'worker', 'a.b', 'ip-10-0-1-5.ec2.internal'];

const template = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.constantFrom('celery', 'w1', '@', '%h', '%n', '%d', '%i', '%I', '.', '-', '_', "'", '$(x)', ' ', '\u00e9', '%%', '%x', '%'), { minLength: 1, maxLength: 6 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: nastyString({ maxParts: 4 }) },
);

test('Celery (every installed version, 5.2 to 5.6) and the boot script agree on the node name of every generated --hostname', () => {
  const installs = oracleInstalls();
  const cases = fc.sample(fc.tuple(template, fc.constantFrom(...HOSTS)), { numRuns: runsOf('nodeName'), seed: GENERATIVE_SEED });
  const answers = installs.map((install) => askCelery(install, 'node-name', cases));
  const accepted = cases.filter(([t]) => nodeNameTemplateError(t) === undefined);
  const names = bashNodeNames(accepted);
  const bash = new Map(accepted.map((c, i) => [c, names[i]]));
  const counts = { accepted: 0, refusedAsCelery: 0, refusedStrict: 0 };
  cases.forEach(([t, host], i) => {
    const ours = nodeNameTemplateError(t);
    const celery = answers.map((a) => a[i]);
    if (ours === undefined) {
      const expected = celery.map((c) => (c.ok ? c.name : `fails: ${c.error}`));
      expect({ template: t, host, names: [celeryNodeName(t, host), bash.get(cases[i])] })
        .toEqual({ template: t, host, names: [expected[0], expected[0]] });
      expect(new Set(expected).size).toBe(1);
      counts.accepted++;
    } else if (/Celery fails/.test(ours)) {
      expect({ template: t, ours, someVersionFails: celery.some((c) => !c.ok) }).toEqual({ template: t, ours, someVersionFails: true });
      counts.refusedAsCelery++;
    } else {
      counts.refusedStrict++;
    }
  });
  expect(counts.accepted).toBeGreaterThan(0);
  // eslint-disable-next-line no-console
  console.log(`node names: ${cases.length} generated --hostname templates x ${installs.length} Celery versions and bash `
    + `(${counts.accepted} accepted, ${counts.refusedAsCelery} refused as Celery would, ${counts.refusedStrict} refused as stricter than Celery)`);
});
