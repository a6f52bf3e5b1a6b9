import * as fs from 'fs';
import { RabbitMqProfileName, startRabbitMq } from './rabbitmq';

/*
 * Without the software scripts/install-test-deps.sh installs, an end-to-end suite must fail, with
 * a message that says what to run, never skip or hang: the broker of each suite starts in
 * beforeAll, so its error fails every test of the file. Here the installation is made to look
 * absent (fs.existsSync answers false for it), which needs no RabbitMQ and starts nothing.
 */

jest.mock('fs', () => ({ ...jest.requireActual('fs'), existsSync: jest.fn(jest.requireActual('fs').existsSync) }));

const realExistsSync = jest.requireActual<typeof fs>('fs').existsSync;

/** Make every path containing `part` look absent. */
function hide(part: string): void {
  jest.mocked(fs.existsSync).mockImplementation((path) => !String(path).includes(part) && realExistsSync(path));
}

test('profile 3.x without the Debian rabbitmq-server: fails naming the install script', async () => {
  hide('/usr/lib/rabbitmq/bin/rabbitmq-server');
  await expect(startRabbitMq({ profile: '3.x' })).rejects.toThrow('/usr/lib/rabbitmq/bin/rabbitmq-server is missing: run scripts/install-test-deps.sh');
});

test.each<RabbitMqProfileName>(['amazon-mq-4.2', 'amazon-mq-4.3'])('profile %s without the RabbitMQ 4 root: fails naming the install script', async (profile) => {
  hide('rabbitmq4-root');
  await expect(startRabbitMq({ profile })).rejects.toThrow(/rabbitmq4-root is not installed: run scripts\/install-test-deps\.sh \(it builds the RabbitMQ 4 root\)/);
});

test('an unknown profile fails naming the known ones', async () => {
  await expect(startRabbitMq({ profile: '5.x' as RabbitMqProfileName })).rejects.toThrow(/^unknown RabbitMQ profile "5\.x"; use one of 3\.x, amazon-mq-4\.2, amazon-mq-4\.3/);
});
