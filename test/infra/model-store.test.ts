import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ModelStore, REGISTRY_GSI1 } from '../../lib/constructs/model-store.ts';
import { unbundledApp } from './support.ts';

function synth(removalPolicy?: RemovalPolicy): { template: Template; store: ModelStore; stack: Stack } {
  const stack = new Stack(unbundledApp(), 'Store');
  const store = new ModelStore(stack, 'ModelStore', {
    noncurrentVersionExpirationDays: 45,
    ...(removalPolicy === undefined ? {} : { removalPolicy }),
  });
  return { template: Template.fromStack(stack), store, stack };
}

const tlsOnly = {
  Properties: Match.objectLike({
  PolicyDocument: Match.objectLike({
    Statement: Match.arrayWith([
      Match.objectLike({
        Effect: 'Deny',
        Action: 's3:*',
        Principal: { AWS: '*' },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    ]),
  }),
  }),
};

describe('ModelStore', () => {
  it('creates a versioned, encrypted, private, access-logged artifact bucket with a noncurrent-version rule', () => {
    const { template, store, stack } = synth();
    const logBucketRef: unknown = stack.resolve(store.accessLogsBucket.bucketName);
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: logBucketRef, LogFilePrefix: 'artifact-bucket/' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 45 } }),
        ]),
      },
    });
    // Both buckets are TLS-only.
    const policies = template.findResources('AWS::S3::BucketPolicy', tlsOnly);
    expect(Object.keys(policies)).toHaveLength(2);
  });

  it('creates an encrypted, private access-log bucket that is not itself logged', () => {
    const { template } = synth();
    template.resourcePropertiesCountIs(
      'AWS::S3::Bucket',
      {
        LoggingConfiguration: Match.absent(),
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true, RestrictPublicBuckets: true }),
      },
      1,
    );
  });

  it('creates the registry table with pk/sk, gsi1, on-demand billing, PITR, encryption and deletion protection', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: REGISTRY_GSI1,
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('drops deletion protection and retention with removalPolicy destroy', () => {
    const { template } = synth(RemovalPolicy.DESTROY);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    template.allResources('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  });
});
