import { MqClient } from '@aws-sdk/client-mq';
import { ConfigurationApplierEvent, ConfigurationApplierIsCompleteResponse, defaultDependencies, isComplete } from './configuration-applier-handler';

// Created once per container so warm invocations reuse connections.
const deps = defaultDependencies(new MqClient({}));

export async function handler(event: ConfigurationApplierEvent): Promise<ConfigurationApplierIsCompleteResponse> {
  return isComplete(event, deps);
}
