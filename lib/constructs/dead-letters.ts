import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** How long a failed event waits in the dead-letter queue for someone to read or redrive it: SQS's maximum. */
export const DEAD_LETTER_RETENTION = Duration.days(14);

export interface DeadLettersProps {
  /**
   * Whether the queue (and the failed events in it) goes with the stack.
   * @default RemovalPolicy.DESTROY (what a failed event says is also in the function's log and the alarm)
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where the platform's asynchronous work lands when it fails for good: one SQS queue, the dead-letter queue of the
 * EventBridge rule targets (an event EventBridge could not deliver) and the on-failure destination of the functions
 * invoked asynchronously (an invocation that threw, timed out or ran out of memory). Encrypted with SQS-managed keys
 * (EventBridge and Lambda need no key grant to send), TLS only, messages kept 14 days. The alarm on its depth is in
 * {@link Observability}; the runbook (read, redrive) is docs/operations/alarms/dead-letters.md.
 */
export class DeadLetters extends Construct {
  public readonly queue: Queue;

  public constructor(scope: Construct, id: string, props: DeadLettersProps = {}) {
    super(scope, id);
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_RETENTION,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the EventBridge rule targets and the on-failure destination of the asynchronous functions (which cdk-nag does not recognise as DLQ use); nothing consumes it, so a message cannot fail again and needs no DLQ of its own.',
    });
  }
}
