import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { ValidationError } from '../private/validation-error';

/**
 * Properties of `WorkerVpcEndpoints`.
 */
export interface WorkerVpcEndpointsProps {
  /**
   * The VPC of the workers (and of the broker-user function).
   */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets in which the interface endpoints get their network interfaces, and whose route
   * tables get the S3 gateway endpoint.
   * @default - the VPC's private subnets (isolated ones if there are no others)
   */
  readonly subnets?: ec2.SubnetSelection;

  /**
   * Let every address of the VPC's primary CIDR reach the interface endpoints on 443. When false,
   * allow each client with `allowFrom`.
   * @default true
   */
  readonly allowFromVpcCidr?: boolean;

  /**
   * Interface endpoints to add to the default set (Secrets Manager, CloudWatch monitoring,
   * CloudFormation, Auto Scaling, SSM, SSM Messages, EC2 Messages), for example CloudWatch Logs.
   * @default - none
   */
  readonly additionalServices?: ec2.InterfaceVpcEndpointAwsService[];
}

/**
 * The VPC endpoints a Celery worker fleet and the broker-user function need to run in isolated
 * subnets without a NAT gateway: Secrets Manager (broker credentials), CloudWatch monitoring
 * (restart metric), CloudFormation (`cfn-signal` once the worker is ready), Auto Scaling
 * (completing the drain lifecycle action, marking a crash-looping instance Unhealthy, restart
 * slots), SSM, SSM Messages and EC2 Messages (Session Manager and Run Command) as interface
 * endpoints with private DNS, and S3 as a gateway endpoint (the code asset; the Amazon Linux
 * package repositories are served from S3 too).
 *
 * PyPI is not an AWS service: without a NAT gateway, `pip install -r requirements.txt` at boot
 * cannot work, so use `WorkerCode.preinstalled` (an image with the application and its
 * dependencies) or a private package index in the VPC.
 *
 * Opt-in: interface endpoints cost per hour and per AZ. Workers still reach the broker on its
 * AMQPS port through their own security group rule; the endpoints only replace HTTPS to AWS APIs.
 */
export class WorkerVpcEndpoints extends Construct implements ec2.IConnectable {
  /** The interface endpoints, keyed by service short name (`secretsmanager`, `monitoring`, `ssm`, ...). */
  public readonly interfaceEndpoints: { [service: string]: ec2.InterfaceVpcEndpoint };
  /** The S3 gateway endpoint. */
  public readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  /** The security group shared by the interface endpoints. */
  public readonly connections: ec2.Connections;

  /**
   * @param scope Scope in which the endpoints are defined
   * @param id Construct id, to keep stable: a new id creates new endpoints while the old ones
   * still hold the private DNS names, which EC2 refuses
   * @param props The VPC, the subnets, the extra services and who may reach the endpoints
   */
  constructor(scope: Construct, id: string, props: WorkerVpcEndpointsProps) {
    super(scope, id);

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Interface VPC endpoints for Celery workers: HTTPS in, nothing out',
      allowAllOutbound: false,
    });
    if (props.allowFromVpcCidr ?? true) {
      securityGroup.addIngressRule(ec2.Peer.ipv4(props.vpc.vpcCidrBlock), ec2.Port.tcp(443), 'HTTPS from the VPC');
    }
    this.connections = new ec2.Connections({ securityGroups: [securityGroup], defaultPort: ec2.Port.tcp(443) });

    const services: Array<[string, ec2.InterfaceVpcEndpointAwsService]> = [
      ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
      ['CloudWatch', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING],
      ['CloudFormation', ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION],
      ['AutoScaling', ec2.InterfaceVpcEndpointAwsService.AUTOSCALING],
      ['Ssm', ec2.InterfaceVpcEndpointAwsService.SSM],
      ['SsmMessages', ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES],
      ['Ec2Messages', ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES],
    ];
    for (const service of props.additionalServices ?? []) {
      services.push([service.shortName, service]);
    }

    this.interfaceEndpoints = {};
    for (const [constructId, service] of services) {
      if (this.interfaceEndpoints[service.shortName]) {
        throw new ValidationError(this, `additionalServices: ${service.shortName} is already in the default set (secretsmanager, monitoring, cloudformation, autoscaling, ssm, ssmmessages, ec2messages).`);
      }
      this.interfaceEndpoints[service.shortName] = new ec2.InterfaceVpcEndpoint(this, constructId, {
        vpc: props.vpc,
        service,
        subnets: props.subnets,
        securityGroups: [securityGroup],
        privateDnsEnabled: true,
        open: false,
      });
    }

    this.s3Endpoint = new ec2.GatewayVpcEndpoint(this, 'S3', {
      vpc: props.vpc,
      service: ec2.GatewayVpcEndpointAwsService.S3,
      subnets: props.subnets ? [props.subnets] : undefined,
    });
  }

  /**
   * Let a client (a worker fleet, the broker-user function) reach the interface endpoints on 443.
   *
   * @param client The client to allow, for example a `CeleryWorkerFleet` or a `CeleryBrokerAccess`
   */
  public allowFrom(client: ec2.IConnectable): void {
    this.connections.allowDefaultPortFrom(client, 'HTTPS to AWS API endpoints');
  }
}
