/**
 * A Celery worker execution pool (`--pool`).
 */
export class CeleryPool {
  /** Child processes; the default and the right choice for CPU-bound or leaky tasks. */
  public static readonly PREFORK = new CeleryPool('prefork');
  /** One task at a time in the main process. */
  public static readonly SOLO = new CeleryPool('solo');
  /** A thread pool, for I/O-bound tasks. */
  public static readonly THREADS = new CeleryPool('threads');
  /** Green threads with gevent (the package must be in the application's requirements). */
  public static readonly GEVENT = new CeleryPool('gevent');
  /** Green threads with eventlet (the package must be in the application's requirements). */
  public static readonly EVENTLET = new CeleryPool('eventlet');

  /**
   * A pool by name, for pools this library does not list yet.
   *
   * @param name The value passed to `--pool` as is, for example `processes`
   */
  public static of(name: string): CeleryPool {
    return new CeleryPool(name);
  }

  private constructor(
    /** The value passed to `--pool`. */
    public readonly name: string,
  ) {}
}
