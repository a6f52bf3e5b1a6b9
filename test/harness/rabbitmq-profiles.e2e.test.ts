import { spawnSync } from 'child_process';
import { join } from 'path';
import { describeEachRabbitMqProfile, rabbitMqForThisFile } from './rabbitmq';

/**
 * The broker profiles behave like the Amazon MQ versions they stand for (what the end-to-end
 * suites rely on): a durable queue declared without a type is classic on 3.x and a quorum queue
 * on 4.2 and 4.3, in the default vhost and in a new one; 4.3 refuses transient non-exclusive
 * queues; exclusive queues work everywhere. Global QoS is accepted everywhere: a broker that denies
 * the `global_qos` deprecated feature (4.3) applies it per consumer instead (rabbit_channel's
 * basic.qos handling), so only quorum queues, which support no global QoS at all, refuse it.
 */

jest.setTimeout(150_000);

const PROBE = join(__dirname, 'fixtures', 'broker_behaviour.py');

describeEachRabbitMqProfile((profile) => {
  const broker = rabbitMqForThisFile({ profile: profile.name, management: true });
  const quorum = profile.name !== '3.x';
  const strict = profile.name === 'amazon-mq-4.3';

  test.each(['/', 'fresh'])(`vhost %s: ${quorum ? 'quorum' : 'classic'} by default${strict ? ', no transient non-exclusive queues' : ''}`, async (vhost) => {
    if (vhost !== '/') await broker().addVhost(vhost);
    expect(broker().version).toMatch(quorum ? /^4\.0\.5$/ : /^3\.10\.8$/);
    const run = spawnSync('/usr/bin/python3', [PROBE, `127.0.0.1:${broker().amqpPort}`, vhost], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    const outcome = JSON.parse(run.stdout) as { [check: string]: string };
    const types = await broker().ctl(['list_queues', '-p', vhost, 'name', 'type', '-q', '--no-table-headers']);
    expect(types).toMatch(new RegExp(`^probe\\.untyped\\s+${quorum ? 'quorum' : 'classic'}$`, 'm'));
    expect(outcome.untyped_declare).toBe('ok');
    expect(outcome.exclusive_queue).toBe('ok');
    if (strict) {
      expect(outcome.transient_queue).toMatch(/\(541\) INTERNAL_ERROR - Feature `transient_nonexcl_queues` is deprecated/);
    } else {
      expect(outcome.transient_queue).toBe('ok');
    }
    expect(outcome.global_qos).toBe('ok');
    expect(outcome.quorum_global_qos).toBe(strict ? 'ok' : `Basic.consume: (540) NOT_IMPLEMENTED - queue 'probe.quorum' in vhost '${vhost}' does not support global qos`);
  });
});
