import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { XGBOOST_IMAGE_ACCOUNTS, xgboostImageUri } from '../../lib/constructs/sagemaker-xgboost-image.ts';

describe('xgboostImageUri', () => {
  it('names the image of the stack region’s AWS account when the stack has a region', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'eu-west-1', account: '111111111111' } });
    expect(xgboostImageUri(stack, '1.7-1')).toBe('141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1');
    const china = new Stack(new App(), 'C', { env: { region: 'cn-north-1', account: '111111111111' } });
    expect(xgboostImageUri(china, '1.7-1')).toBe('450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1');
  });

  it('refuses a region it has no account for, naming it', () => {
    const stack = new Stack(new App(), 'S', { env: { region: 'xx-nowhere-1', account: '111111111111' } });
    expect(() => xgboostImageUri(stack, '1.7-1')).toThrow('sagemaker\'s built-in xgboost image is not known for region xx-nowhere-1');
  });

  it('has a twelve-digit account for every region', () => {
    expect(Object.keys(XGBOOST_IMAGE_ACCOUNTS).length).toBeGreaterThan(30);
    for (const account of Object.values(XGBOOST_IMAGE_ACCOUNTS)) expect(account).toMatch(/^\d{12}$/);
  });
});
