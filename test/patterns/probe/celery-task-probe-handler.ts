import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { probeCeleryTasks, ProbeReport, ProbeTask } from './celery-task-probe';

/**
 * Lambda entry point of the integration test's probe (see celery-task-probe.ts). Environment:
 * `MANAGEMENT_URL`, `VHOST`, `ADMIN_SECRET_ARN` (JSON `username`, `password`). The event lists the
 * tasks; the function returns the report (it never throws for a task that failed, so that the
 * assertion shows which one).
 */
export async function handler(event: { tasks: ProbeTask[]; timeoutSeconds?: number }): Promise<ProbeReport> {
  const secret = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: process.env.ADMIN_SECRET_ARN }));
  const admin = JSON.parse(secret.SecretString ?? '{}') as { username: string; password: string };
  const report = await probeCeleryTasks({
    managementUrl: process.env.MANAGEMENT_URL!,
    vhost: process.env.VHOST!,
    username: admin.username,
    password: admin.password,
    tasks: event.tasks,
    timeoutMs: (event.timeoutSeconds ?? 60) * 1000,
    // eslint-disable-next-line no-console
    log: (message) => console.log(message),
  });
  // eslint-disable-next-line no-console
  console.log(JSON.stringify(report));
  return report;
}
