/**
 * How an Amazon MQ for RabbitMQ broker is deployed. Changing it replaces the broker (and loses its
 * messages): choose before the first deployment.
 */
export enum RabbitMqDeploymentMode {
  /**
   * One node in one Availability Zone, behind a Network Load Balancer; exactly one subnet.
   * Cheapest; the broker is unavailable while it reboots (maintenance window, configuration
   * changes applied with a reboot).
   */
  SINGLE_INSTANCE = 'SINGLE_INSTANCE',

  /**
   * Three nodes across Availability Zones behind a Network Load Balancer; subnets in distinct
   * Availability Zones (at least one when private). Three times the instance cost; nodes restart
   * one after the other, so clients reconnect instead of waiting for the whole broker.
   */
  CLUSTER_MULTI_AZ = 'CLUSTER_MULTI_AZ',
}
