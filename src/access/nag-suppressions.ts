import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One cdk-nag rule acknowledged on a resource, with the reason. */
export interface NagRuleSuppression {
  readonly id: string;
  readonly reason: string;
}

/**
 * Acknowledge cdk-nag rules on the CloudFormation resources under `scope` whose type is in
 * `resourceTypes` (all of them if empty), without importing cdk-nag into library code: cdk-nag
 * reads the `cdk_nag` metadata. Merges with suppressions already there.
 */
export function addNagSuppressions(scope: IConstruct, suppressions: NagRuleSuppression[], resourceTypes: string[] = []): void {
  for (const child of scope.node.findAll()) {
    if (!CfnResource.isCfnResource(child)) continue;
    if (resourceTypes.length > 0 && !resourceTypes.includes(child.cfnResourceType)) continue;
    const existing = (child.getMetadata('cdk_nag') as { rules_to_suppress?: NagRuleSuppression[] } | undefined)?.rules_to_suppress ?? [];
    const merged = [...existing];
    for (const s of suppressions) {
      if (!merged.some((m) => m.id === s.id)) merged.push({ id: s.id, reason: s.reason });
    }
    child.addMetadata('cdk_nag', { rules_to_suppress: merged });
  }
}
