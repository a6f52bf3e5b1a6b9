import { CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One cdk-nag rule acknowledged on a resource, with the reason. */
export interface NagRuleSuppression {
  readonly id: string;
  readonly reason: string;
  /**
   * The findings of the rule that are acknowledged (cdk-nag's `applies_to`, e.g.
   * `Resource::<Fn.Arn>:*`); all of them when unset.
   */
  readonly appliesTo?: string[];
}

interface NagMetadataEntry {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: string[];
}

/**
 * Acknowledge cdk-nag rules on the CloudFormation resources under `scope` (itself included) whose
 * type is in `resourceTypes` (all of them if empty), without importing cdk-nag into library code:
 * cdk-nag reads the `cdk_nag` metadata, exactly what `NagSuppressions.addResourceSuppressions`
 * writes. Merges with the acknowledgements already there: the same rule twice keeps one entry,
 * covering the union of the findings (or all of them if either covers all).
 */
export function addNagSuppressions(scope: IConstruct, suppressions: NagRuleSuppression[], resourceTypes: string[] = []): void {
  for (const child of scope.node.findAll()) {
    if (!CfnResource.isCfnResource(child)) continue;
    if (resourceTypes.length > 0 && !resourceTypes.includes(child.cfnResourceType)) continue;
    const existing = (child.getMetadata('cdk_nag') as { rules_to_suppress?: NagMetadataEntry[] } | undefined)?.rules_to_suppress ?? [];
    const merged = [...existing];
    for (const s of suppressions) {
      const index = merged.findIndex((m) => m.id === s.id);
      if (index < 0) {
        merged.push({ id: s.id, reason: s.reason, ...(s.appliesTo ? { applies_to: [...s.appliesTo] } : {}) });
        continue;
      }
      const previous = merged[index];
      const appliesTo = previous.applies_to && s.appliesTo ? [...new Set([...previous.applies_to, ...s.appliesTo])] : undefined;
      merged[index] = { id: previous.id, reason: previous.reason, ...(appliesTo ? { applies_to: appliesTo } : {}) };
    }
    child.addMetadata('cdk_nag', { rules_to_suppress: merged });
  }
}
