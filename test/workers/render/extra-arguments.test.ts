import { extraArgumentsError, parseExtraArguments } from '../../../src/workers/render/extra-arguments';

describe('the spellings the issue found, and their relatives, are refused', () => {
  test.each([
    [['-S/path'], /"-S" "\/path" is not allowed in a worker fleet: a state database/],
    [['-Pgevent'], /"-P" "gevent" is set by the typed option "pool"/],
    [['-Qother'], /"-Q" "other" is set by the typed option "queues"/],
    [['-nname'], /"-n" "name" is set by the typed option "hostname"/],
    [['-n=name'], /"-n" "=name" is set by the typed option "hostname"/],
    [['--time-limit=7200'], /"--time-limit" "7200" is set by the typed option "timeLimit"/],
    [['--max-tasks-per-child=0'], /"--max-tasks-per-child" "0" is set by the typed option "maxTasksPerChild"/],
    [['-DE'], /"-D" is not allowed in a worker fleet: systemd supervises a foreground worker/],
    [['-Ec4'], /"-c" "4" is set by the typed option "concurrency"/],
    [['-B'], /"-B" is not allowed in a worker fleet: every instance of the fleet would run its own celery beat/],
    [['--logfile', '/var/log/x'], /"--logfile" "\/var\/log\/x" is not allowed in a worker fleet: systemd supervises/],
    [['--help'], /"--help" is not allowed in a worker fleet: the worker would print its help and exit 0/],
    [['task_acks_late=False'], /"task_acks_late=False" is not an option: Celery reads arguments that are not options as settings/],
    [['--', 'x=y'], /"--" is not allowed/],
    [['--concurrenc', '4'], /"--concurrenc" is not an option of celery worker .*\(no abbreviations\)/],
    [['--optimization', 'fair'], /"--optimization" is only known to Celery 5\.3\.1 and later.*use -O/],
    [['--disable-prefetch'], /"--disable-prefetch" is only known to Celery 5\.6\.0 and later/],
    [['-X'], /"-X" needs a value/],
    [['--purge=yes'], /"--purge" takes no value/],
    [['-O', 'fast'], /"-O" "fast" is not allowed; Celery accepts only "default" or "fair"/],
  ])('%j', (args, message) => {
    expect(extraArgumentsError(args)?.message).toMatch(message);
  });

  test('allowed options, in every spelling, parse to what Celery gets', () => {
    const args = ['-E', '-Xslow', '--include=proj.tasks', '-O', 'fair', '--heartbeat-interval=30', '--autoscale', '8,2', '-X', '--purge'];
    expect(extraArgumentsError(args)).toBeUndefined();
    expect(parseExtraArguments(args)).toEqual([
      { param: 'task_events', name: '-E' },
      { param: 'exclude_queues', name: '-X', value: 'slow' },
      { param: 'include', name: '--include', value: 'proj.tasks' },
      { param: 'optimization', name: '-O', value: 'fair' },
      { param: 'heartbeat_interval', name: '--heartbeat-interval', value: '30' },
      { param: 'autoscale', name: '--autoscale', value: '8,2' },
      // A value is the next argument whatever it looks like: this excludes a queue named --purge.
      { param: 'exclude_queues', name: '-X', value: '--purge' },
    ]);
  });
});
