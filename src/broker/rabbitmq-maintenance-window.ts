/** Day of the week of a maintenance window. */
export enum MaintenanceDay {
  /** Monday. */
  MONDAY = 'MONDAY',
  /** Tuesday. */
  TUESDAY = 'TUESDAY',
  /** Wednesday. */
  WEDNESDAY = 'WEDNESDAY',
  /** Thursday. */
  THURSDAY = 'THURSDAY',
  /** Friday. */
  FRIDAY = 'FRIDAY',
  /** Saturday. */
  SATURDAY = 'SATURDAY',
  /** Sunday. */
  SUNDAY = 'SUNDAY',
}

/**
 * Start of the weekly maintenance window. Amazon MQ applies engine patches, pending configuration
 * changes and other pending broker changes then, rebooting the broker: Celery workers reconnect.
 */
export interface RabbitMqMaintenanceWindow {
  /** Day of the week. */
  readonly dayOfWeek: MaintenanceDay;

  /** Start time, `HH:MM` in 24-hour format, for example `03:00`. */
  readonly timeOfDay: string;

  /**
   * Time zone of `timeOfDay`: `UTC` or an IANA name such as `Europe/Paris`.
   * @default 'UTC'
   */
  readonly timeZone?: string;
}
