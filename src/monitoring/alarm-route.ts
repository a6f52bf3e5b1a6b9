import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/**
 * Where an alarm's notifications go. `CeleryMonitoring` has two destinations: paging (someone is
 * woken up: the pages, by default) and ticketing (someone looks during working hours: every other
 * alarm, by default). Any alarm can be sent to either, to both, nowhere, or to actions of its own.
 */
export class AlarmRoute {
  /** The paging actions (`pagingTopic` or `pagingActions`). */
  public static readonly PAGE = new AlarmRoute('page', true, false);

  /** The ticketing actions (`ticketingTopic` or `ticketingActions`). */
  public static readonly TICKET = new AlarmRoute('ticket', false, true);

  /** Both the paging and the ticketing actions. */
  public static readonly PAGE_AND_TICKET = new AlarmRoute('page and ticket', true, true);

  /**
   * No action: the alarm is still created, shown on the dashboard and usable in composite alarms
   * and `AlarmRule`s of your own.
   */
  public static readonly NONE = new AlarmRoute('none', false, false);

  /**
   * These actions only, instead of paging or ticketing (an SNS topic of one team, a Lambda
   * function, an OpsItem, ...).
   *
   * @param actions The alarm actions, for example `new SnsAction(topic)`
   */
  public static of(...actions: cloudwatch.IAlarmAction[]): AlarmRoute {
    if (actions.length === 0) {
      throw new Error('AlarmRoute.of: give at least one action, or use AlarmRoute.NONE for an alarm without actions.');
    }
    return new AlarmRoute('custom actions', false, false, actions);
  }

  /** Whether the paging actions are notified. */
  public readonly pages: boolean;
  /** Whether the ticketing actions are notified. */
  public readonly tickets: boolean;
  /** Actions of this route besides paging and ticketing. */
  public readonly actions: cloudwatch.IAlarmAction[];
  /** A short description, for example `page`. */
  public readonly description: string;

  private constructor(description: string, pages: boolean, tickets: boolean, actions: cloudwatch.IAlarmAction[] = []) {
    this.description = description;
    this.pages = pages;
    this.tickets = tickets;
    this.actions = [...actions];
  }

  /**
   * The actions of this route, given the paging and ticketing actions.
   *
   * @param paging The paging actions
   * @param ticketing The ticketing actions
   */
  public resolve(paging: cloudwatch.IAlarmAction[], ticketing: cloudwatch.IAlarmAction[]): cloudwatch.IAlarmAction[] {
    return [...(this.pages ? paging : []), ...(this.tickets ? ticketing : []), ...this.actions];
  }

  /** The description. */
  public toString(): string {
    return this.description;
  }
}
