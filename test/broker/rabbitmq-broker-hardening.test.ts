import { Errors } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildBroker, emptyStack, onlyResource } from './broker-fixture';
import { ConfigurationChangePolicy } from '../../src/broker/configuration-change-policy';
import { RabbitMqBroker } from '../../src/broker/rabbitmq-broker';
import { MaintenanceDay } from '../../src/broker/rabbitmq-maintenance-window';

/* Issue 11, the broker: input Amazon MQ refuses at deploy is refused at synth; deploy fidelity. */

describe('accepted at synth before, refused by Amazon MQ at deploy', () => {
  test.each([
    ['an admin username with ~', { adminUsername: 'admin~1' }, /^adminUsername: "admin~1" is not allowed; use 2 to 100 letters, digits, '-', '\.' and '_' \(Amazon MQ for RabbitMQ refuses '~'\)/],
    ['the admin username guest', { adminUsername: 'guest' }, /^adminUsername: "guest" is not allowed; Amazon MQ refuses the name "guest"/],
    ['a maintenance day that is not one', { maintenanceWindow: { dayOfWeek: 'FUNDAY' as MaintenanceDay, timeOfDay: '03:00' } },
      /^maintenanceWindow\.dayOfWeek: "FUNDAY" is not allowed; use one of MONDAY, TUESDAY/],
    ['a time zone that does not exist', { maintenanceWindow: { dayOfWeek: MaintenanceDay.MONDAY, timeOfDay: '03:00', timeZone: 'Europe/Atlantis' } },
      /^maintenanceWindow\.timeZone: "Europe\/Atlantis" is not allowed; use UTC, an IANA time zone name/],
    ['a time zone alias', { maintenanceWindow: { dayOfWeek: MaintenanceDay.MONDAY, timeOfDay: '03:00', timeZone: 'US/Pacific' } },
      /^maintenanceWindow\.timeZone: "US\/Pacific" is not allowed; use its canonical name America\/Los_Angeles/],
    ['a time zone in the wrong case', { maintenanceWindow: { dayOfWeek: MaintenanceDay.MONDAY, timeOfDay: '03:00', timeZone: 'europe/paris' } },
      /^maintenanceWindow\.timeZone: "europe\/paris" is not allowed; use its canonical name Europe\/Paris/],
    ['a UTC offset past 14 hours', { maintenanceWindow: { dayOfWeek: MaintenanceDay.MONDAY, timeOfDay: '03:00', timeZone: 'UTC+15:00' } },
      /^maintenanceWindow\.timeZone: "UTC\+15:00" is not allowed/],
  ])('%s', (_name, props, message) => {
    const { stack, vpc } = emptyStack();
    let error: any;
    try {
      new RabbitMqBroker(stack, 'Broker', { vpc, ...props });
    } catch (e) {
      error = e;
    }
    expect(error?.message).toMatch(message);
    expect(Errors.isValidationError(error)).toBe(true);
    expect(error.constructPath).toBe('TestStack/Broker');
  });

  test.each(['UTC', 'Europe/Paris', 'America/Los_Angeles', 'UTC+01:00', 'UTC-09:30'])('time zone %s is accepted', (timeZone) => {
    const { stack, vpc } = emptyStack();
    expect(() => new RabbitMqBroker(stack, 'Broker', { vpc, maintenanceWindow: { dayOfWeek: MaintenanceDay.SUNDAY, timeOfDay: '03:00', timeZone } })).not.toThrow();
  });
});

describe('deploy fidelity', () => {
  test('the broker and the applier name the configuration by Ref (Fn::GetAtt Id is not retrievable)', () => {
    const { stack, template } = buildBroker({ configurationChangePolicy: ConfigurationChangePolicy.applyNowWithReboot() });
    const { logicalId } = onlyResource(template, 'AWS::AmazonMQ::Configuration');
    const broker = onlyResource(template, 'AWS::AmazonMQ::Broker').resource;
    expect(broker.Properties.Configuration).toEqual({ Id: { Ref: logicalId }, Revision: { 'Fn::GetAtt': [logicalId, 'Revision'] } });
    template.hasResourceProperties('Custom::CdkCeleryConfigurationApplier', { ConfigurationId: { Ref: logicalId } });
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toContain(`"${logicalId}","Id"`);
  });
});
