import { Aws, CfnMapping, Stack, Token } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';

/**
 * The AWS accounts that host SageMaker's built-in XGBoost algorithm image (`sagemaker-xgboost`) in each region, for
 * the 1.x versions (the same for 1.0-1 to 1.7-1). Source: the SageMaker Python SDK's
 * `src/sagemaker/image_uri_config/xgboost.json` (what `sagemaker.image_uris.retrieve("xgboost", region, "1.7-1")`
 * reads), and the "Docker Registry Paths and Example Code" pages of the SageMaker developer guide. The CDK's region
 * facts do not carry these accounts.
 */
export const XGBOOST_IMAGE_ACCOUNTS: Readonly<Record<string, string>> = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'ca-west-1': '190319476487',
  'cn-north-1': '450853457545',
  'cn-northwest-1': '451049120500',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'il-central-1': '898809789911',
  'me-central-1': '272398656194',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-gov-east-1': '237065988967',
  'us-gov-west-1': '414596584902',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

/** The repository of the image in those accounts. */
export const XGBOOST_IMAGE_REPOSITORY = 'sagemaker-xgboost';

/**
 * The URI of the built-in XGBoost algorithm image for the stack's region: a plain string when the stack has a region,
 * else a `Fn::FindInMap` on the deployment region (an environment-agnostic stack, as `bin/app.ts` builds), which fails
 * the deployment in a region that is not in the map rather than training with another region's image.
 * @throws Error at synth when the stack's region is known and not in the map
 */
export function xgboostImageUri(scope: Construct, version: string): string {
  const stack = Stack.of(scope);
  const region = stack.region;
  if (!Token.isUnresolved(region)) {
    const account = XGBOOST_IMAGE_ACCOUNTS[region];
    if (account === undefined) throw new Error(`sagemaker's built-in xgboost image is not known for region ${region}`);
    return `${account}.dkr.ecr.${region}.${RegionInfo.get(region).domainSuffix ?? 'amazonaws.com'}/${XGBOOST_IMAGE_REPOSITORY}:${version}`;
  }
  const mapping = new CfnMapping(scope, 'XgboostImageAccounts', {
    mapping: Object.fromEntries(Object.entries(XGBOOST_IMAGE_ACCOUNTS).map(([r, account]) => [r, { account }])),
  });
  return `${mapping.findInMap(Aws.REGION, 'account')}.dkr.ecr.${Aws.REGION}.${Aws.URL_SUFFIX}/${XGBOOST_IMAGE_REPOSITORY}:${version}`;
}
