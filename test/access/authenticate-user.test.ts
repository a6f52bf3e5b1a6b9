import { isRefusedPassword } from './fixtures/authenticate-user';

/* The outputs of rabbitmqctl as the harness reports them, recorded from RabbitMQ 3.10.8 and 4.0.5. */
const REFUSED_3 = 'rabbitmqctl authenticate_user celery wrong failed (65):\nAuthenticating user "celery" ...\nError:\nError: failed to authenticate user "celery"\nuser \'celery\' - invalid credentials\n';
const REFUSED_4 = 'rabbitmqctl --userspec=101:102 --groups=102 ROOT /bin/sh -c cd "$0" && exec "$@" BROKER_DIR /usr/lib/rabbitmq/bin/rabbitmqctl authenticate_user celery wrong failed (65):\n'
  + 'Authenticating user "celery" ...\nError:\nError: failed to authenticate user "celery"\nuser \'celery\' - invalid credentials\n';
const NODE_DOWN = 'rabbitmqctl authenticate_user celery pw failed (69):\nAuthenticating user "celery" ...\nError: unable to perform an operation on node \'rabbit@host\'. Please see diagnostics information and suggestions below.\n';
const TIMED_OUT = 'rabbitmqctl authenticate_user celery pw failed (SIGTERM):\n';

test.each([
  ['a refused password on RabbitMQ 3', REFUSED_3, 'celery', true],
  ['a refused password on RabbitMQ 4 (run in its root)', REFUSED_4, 'celery', true],
  ['a refusal of another user', REFUSED_3, 'app', false],
  ['an unreachable node', NODE_DOWN, 'celery', false],
  ['a rabbitmqctl that was killed', TIMED_OUT, 'celery', false],
])('%s', (_name, message, username, refused) => {
  expect(isRefusedPassword(new Error(message), username)).toBe(refused);
});
