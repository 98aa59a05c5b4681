import { describe, expect, it } from 'vitest';
import { type CfnTemplate, checkTemplateLimits, secondsToAlarm, trainingJobName } from '../../scripts/aws-limits.ts';
import { buildStack } from './support.ts';

/** A 40-character model name with underscores: valid for the registry, not as a SageMaker job name as such. */
const LONG_MODEL = 'customer_churn_propensity_model_eu_v2_ab';

/** The synthesized templates of the configs the project supports, each with the model names it may train. */
const CONFIGS: ReadonlyArray<readonly [string, unknown]> = [
  ['the default config', undefined],
  [
    'a pipeline with a long model name, SageMaker training, WAF and a quota',
    {
      api: { waf: { enabled: true }, quota: { limit: 1_000_000, period: 'MONTH' } },
      pipeline: {
        sagemaker: { trainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1' },
        models: { [LONG_MODEL]: { target: 'y', positiveLabel: '1', trainer: 'sagemaker', datasetKey: 'datasets/c.csv', schedule: 'rate(7 days)' } },
      },
    },
  ],
  [
    'the GPU path and a 30-minute canary',
    {
      observability: { deployment: { strategy: 'canary10Percent30Minutes', rollback: { evaluationPeriods: 5, periodSeconds: 300 } } },
      sagemakerServing: {
        endpoints: {
          'fraud-gpu': { model: 'fraud', version: 3 },
          'credit-spiky': { model: 'credit', version: 2, variant: 'serverless', image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/onnx-server:1.4' },
        },
      },
    },
  ],
  [
    'the most API consumers, each in a key rotation and with a model allow-list',
    {
      api: {
        consumers: Array.from({ length: 14 }, (_, i) => ({
          name: `tenant-with-a-long-name-${String(i).padStart(2, '0')}`,
          models: ['credit', 'customer_churn_propensity'],
          keyVersion: 2,
          retiredKeyVersions: [1],
        })),
      },
    },
  ],
];

const built = new Map<unknown, { template: CfnTemplate; dataTemplate: CfnTemplate; models: string[] }>();

/** A fresh copy (tests change it) of the templates of a config (serving and data stack), synthesized once. */
function synthesized(overrides: unknown): { template: CfnTemplate; dataTemplate: CfnTemplate; models: string[] } {
  let entry = built.get(overrides);
  if (entry === undefined) {
    const { template, dataTemplate, config } = buildStack(overrides);
    entry = { template: template.toJSON() as CfnTemplate, dataTemplate: dataTemplate.toJSON() as CfnTemplate, models: Object.keys(config.pipeline.models) };
    built.set(overrides, entry);
  }
  return { template: structuredClone(entry.template), dataTemplate: structuredClone(entry.dataTemplate), models: entry.models };
}

describe('AWS limits of the synthesized templates', () => {
  it.each(CONFIGS)('%s fits every checked limit, in each stack', (_name, overrides) => {
    const { template, dataTemplate, models } = synthesized(overrides);
    // Besides the configured models, any model name the registry accepts may be trained on request.
    expect(checkTemplateLimits(template, { modelNames: [...models, LONG_MODEL, `${'m'.repeat(62)}_`] })).toEqual([]);
    expect(checkTemplateLimits(dataTemplate)).toEqual([]);
  });

  it('counts resources per template: a stack is held to the 500 resources of its own template', () => {
    const { dataTemplate } = synthesized(CONFIGS[3]?.[1]);
    const data = Object.keys(dataTemplate.Resources ?? {}).length;
    // Fill the data stack up to the limit with copies of one of its resources: still within, though both together are not.
    const [, sample] = Object.entries(dataTemplate.Resources ?? {})[0] ?? [];
    const filled = { ...dataTemplate, Resources: { ...dataTemplate.Resources } } as { Resources: Record<string, unknown> };
    for (let i = data; i < 500; i++) filled.Resources[`Copy${i}`] = structuredClone(sample);
    expect(checkTemplateLimits(filled as CfnTemplate).filter((line) => line.includes('resources'))).toEqual([]);
    filled.Resources['OneTooMany'] = structuredClone(sample);
    expect(checkTemplateLimits(filled as CfnTemplate)).toContain('the template has 501 resources, CloudFormation allows 500');
  });

  it('fails a training job name made from the raw model name (40 characters with "_")', () => {
    const { template } = synthesized(CONFIGS[1]?.[1]);
    const [id, machine] = Object.entries(template.Resources ?? {}).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine') ?? [];
    const definition = String(machine?.Properties?.['DefinitionString']);
    // The naming the pipeline used before: {model}-{run_id}-{seed}.
    const raw = definition.replace("States.Format('{}-{}', $.run.training_job_prefix, $.seed)", "States.Format('{}-{}-{}', $.run.model, $.run.run_id, $.seed)");
    expect(raw).not.toBe(definition);
    (machine?.Properties as Record<string, unknown>)['DefinitionString'] = raw;
    const problems = checkTemplateLimits(template, { modelNames: [LONG_MODEL] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`${String(id)}: the training job name of model "${LONG_MODEL}" would be "${LONG_MODEL}-ffffffff-ffff-4fff-bfff-ffffffffffff-2147483647" (88 characters)`);
  });

  it('fails a rollback alarm that cannot reach ALARM before the canary interval ends', () => {
    const { template } = synthesized(undefined);
    const [alarmId, alarm] = Object.entries(template.Resources ?? {}).find(([, r]) => r.Properties?.['AlarmName'] === 'serverless-mlops-predict-rollback-5xx') ?? [];
    expect(secondsToAlarm(alarm ?? { Type: '' })).toBe(180);
    // 3 of 5 one-minute periods, as the SLO alarms are judged: 300 s + 120 s of lag > the 300 s of Canary10Percent5Minutes.
    Object.assign(alarm?.Properties ?? {}, { EvaluationPeriods: 5, DatapointsToAlarm: 3 });
    expect(secondsToAlarm(alarm ?? { Type: '' })).toBe(300);
    Object.assign(alarm?.Properties ?? {}, { EvaluationPeriods: 5, DatapointsToAlarm: 5 });
    expect(checkTemplateLimits(template)).toEqual([
      `${Object.keys(template.Resources ?? {}).find((id) => id.startsWith('ObservabilityPredictDeployment') && template.Resources?.[id]?.Type === 'AWS::CodeDeploy::DeploymentGroup')}: rollback alarm ${String(alarmId)} needs 420 s to reach ALARM, longer than the 300 s canary interval of CodeDeployDefault.LambdaCanary10Percent5Minutes`,
    ]);
  });

  it('fails an endpoint rollback alarm slower than the endpoint canary bake, and names that are too long', () => {
    const { template } = synthesized(CONFIGS[2]?.[1]);
    const alarm = Object.values(template.Resources ?? {}).find((r) => r.Properties?.['AlarmName'] === 'serverless-mlops-fraud-gpu-5xx');
    Object.assign(alarm?.Properties ?? {}, { Period: 300, EvaluationPeriods: 5, DatapointsToAlarm: 5 });
    const endpoint = Object.values(template.Resources ?? {}).find((r) => r.Type === 'AWS::SageMaker::Endpoint' && r.Properties?.['EndpointName'] === 'fraud-gpu');
    Object.assign(endpoint?.Properties ?? {}, { EndpointName: `fraud-${'g'.repeat(60)}` });
    const problems = checkTemplateLimits(template);
    expect(problems.some((line) => line.includes('rollback alarm serverless-mlops-fraud-gpu-5xx needs 1620 s to reach ALARM, longer than the 600 s canary bake'))).toBe(true);
    expect(problems.some((line) => line.includes('EndpointName is 66 characters, the limit is 63'))).toBe(true);
  });

  it('estimates the environment of each function, failing one over 4 KB', () => {
    const { template } = synthesized(undefined);
    const fn = Object.values(template.Resources ?? {}).find((r) => r.Type === 'AWS::Lambda::Function');
    const variables = ((fn?.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables);
    variables['BIG'] = 'x'.repeat(4000);
    expect(checkTemplateLimits(template).some((line) => /environment variables take about \d+ bytes, Lambda allows 4096/.test(line))).toBe(true);
  });

  it('evaluates the job name expression the way Step Functions formats it', () => {
    expect(trainingJobName("States.Format('{}-{}', $.run.training_job_prefix, $.seed)", 'credit')).toBe('credit-ffffffffffff-2147483647');
  });
});
