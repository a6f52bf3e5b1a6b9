import {
  AutoScalingClient, AutoScalingGroup, DescribeLaunchConfigurationsCommand, paginateDescribeAutoScalingGroups,
  paginateDescribeScalingActivities,
} from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { celeryPins } from '../celery-version';
import { FleetFacts } from '../facts';
import { LIBRARY_LAYOUT } from '../knowledge';
import { findRestartSchedules } from '../restart-schedules';
import { decodeUserData, userDataDocuments } from '../user-data-documents';
import { celeryEnvironment } from '../user-data-environment';
import { findWorkerCommandLines, workerCommandFacts } from '../worker-command-line';

/** Read-only calls of the fleet reader. */
export const FLEET_READER_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeLaunchConfigurations', 'autoscaling:DescribeScalingActivities',
  'ec2:DescribeLaunchTemplateVersions',
];

/** Scaling activities are paged newest first; this many pages cover any sensible window. */
const MAX_ACTIVITY_PAGES = 5;

export class GroupNotFoundError extends Error {}

export async function readFleets(asg: AutoScalingClient, ec2: EC2Client, names: string[], start: Date, end: Date): Promise<FleetFacts[]> {
  const groups: AutoScalingGroup[] = [];
  for await (const page of paginateDescribeAutoScalingGroups({ client: asg }, { AutoScalingGroupNames: names })) {
    groups.push(...(page.AutoScalingGroups ?? []));
  }
  const missing = names.filter((n) => !groups.some((g) => g.AutoScalingGroupName === n));
  if (missing.length > 0) throw new GroupNotFoundError(`no Auto Scaling group named ${missing.map((m) => `"${m}"`).join(', ')}`);
  return Promise.all(names.map((n) => readFleet(asg, ec2, groups.find((g) => g.AutoScalingGroupName === n)!, start, end)));
}

async function readFleet(asg: AutoScalingClient, ec2: EC2Client, group: AutoScalingGroup, start: Date, end: Date): Promise<FleetFacts> {
  let source = 'no launch template or configuration';
  let userData: string | undefined;
  let userDataError: string | undefined;
  try {
    const lt = group.LaunchTemplate ?? group.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
    if (lt) {
      const version = lt.Version ?? '$Default';
      source = `launch template ${lt.LaunchTemplateId ?? lt.LaunchTemplateName} version ${version}`;
      const out = await ec2.send(new DescribeLaunchTemplateVersionsCommand({
        LaunchTemplateId: lt.LaunchTemplateId, LaunchTemplateName: lt.LaunchTemplateId ? undefined : lt.LaunchTemplateName, Versions: [version],
      }));
      const v = out.LaunchTemplateVersions?.[0];
      if (v?.VersionNumber !== undefined) source = `launch template ${lt.LaunchTemplateId ?? lt.LaunchTemplateName} version ${v.VersionNumber}`;
      userData = v?.LaunchTemplateData?.UserData;
    } else if (group.LaunchConfigurationName) {
      source = `launch configuration ${group.LaunchConfigurationName}`;
      const out = await asg.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: [group.LaunchConfigurationName] }));
      userData = out.LaunchConfigurations?.[0]?.UserData;
    }
  } catch (error) {
    userDataError = `${(error as Error).name}: ${(error as Error).message}`;
  }

  let text = '';
  try {
    text = userData ? decodeUserData(userData) : '';
  } catch (error) {
    userDataError = `user data does not decode: ${(error as Error).message}`;
  }
  const docs = userDataDocuments(text);
  const environment = celeryEnvironment(docs);
  const commands = findWorkerCommandLines(docs).map((c) => ({ ...c, facts: workerCommandFacts(c.argv, { ...environment, ...c.envPrefix }) }));
  const workerUnit = docs.find((d) => d.kind === 'systemd' && commands.some((c) => c.origin === d.origin));
  const restart = workerUnit ? /^\s*Restart\s*=\s*(\S+)/m.exec(workerUnit.text)?.[1] ?? 'no' : undefined;

  return {
    name: group.AutoScalingGroupName!,
    desired: group.DesiredCapacity ?? 0,
    min: group.MinSize ?? 0,
    max: group.MaxSize ?? 0,
    inService: (group.Instances ?? []).filter((i) => i.LifecycleState === 'InService').length,
    launchSource: source,
    userDataBytes: Buffer.byteLength(text),
    userDataError,
    library: text.includes(LIBRARY_LAYOUT.bootScriptBanner),
    commands,
    schedules: findRestartSchedules(docs),
    environment,
    celeryPins: celeryPins(text),
    systemdRestart: restart,
    launches: await launches(asg, group.AutoScalingGroupName!, start, end),
  };
}

async function launches(asg: AutoScalingClient, group: string, start: Date, end: Date): Promise<Date[]> {
  const out: Date[] = [];
  let pages = 0;
  for await (const page of paginateDescribeScalingActivities({ client: asg }, { AutoScalingGroupName: group })) {
    for (const a of page.Activities ?? []) {
      if (!a.StartTime || !/launching/i.test(a.Description ?? '')) continue;
      if (a.StartTime >= start && a.StartTime <= end) out.push(a.StartTime);
    }
    const oldest = page.Activities?.[page.Activities.length - 1]?.StartTime;
    if (++pages >= MAX_ACTIVITY_PAGES || (oldest && oldest < start)) break;
  }
  return out.sort((a, b) => a.getTime() - b.getTime());
}
