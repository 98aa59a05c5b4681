import { RemovalPolicy } from 'aws-cdk-lib';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { retentionDays } from './mlops-function.ts';

/** Step Functions' log delivery to a log group under this prefix needs no resource policy of its own per log group. */
export const STATE_MACHINE_LOG_GROUP_PREFIX = '/aws/vendedlogs/states/';

export interface StateMachineLogGroupProps {
  /** The name after {@link STATE_MACHINE_LOG_GROUP_PREFIX}, e.g. `serverless-mlops-training-pipeline`. */
  readonly name: string;
  /** Days the events are kept (`logRetentionDays`). */
  readonly logRetentionDays: number;
}

/**
 * The log group of a state machine, `/aws/vendedlogs/states/{name}`. It is deleted with its stack whatever the
 * config's `removalPolicy` says: its name is fixed, so a retained one would make the next create of the stack (after a
 * failed first create rolled back, or `cdk destroy` of the serving stack) fail with "already exists". It holds error
 * events, not data.
 */
export function stateMachineLogGroup(scope: Construct, id: string, props: StateMachineLogGroupProps): LogGroup {
  return new LogGroup(scope, id, {
    logGroupName: `${STATE_MACHINE_LOG_GROUP_PREFIX}${props.name}`,
    retention: retentionDays(props.logRetentionDays),
    removalPolicy: RemovalPolicy.DESTROY,
  });
}
