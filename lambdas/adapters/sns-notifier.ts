import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { CanaryNotifier } from '#core/serving/canary-watch.ts';

/** Publishes notifications to the platform's SNS topic (subscriptions from config: email, or an existing topic). */
export class SnsNotifier implements CanaryNotifier {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async notify(subject: string, message: string): Promise<void> {
    // SNS subjects are at most 100 characters.
    await this.client.send(new PublishCommand({ TopicArn: this.topicArn, Subject: subject.slice(0, 100), Message: message }));
  }
}
