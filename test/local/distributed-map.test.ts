import { StateMachine } from 'aws-local-stepfunctions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOCAL_MAP_TIMEOUT_SECONDS, localizeDistributedMaps, type LocalMapObjects } from '../../local/distributed-map.ts';

/** One Distributed Map over a JSON lines object, one item per child execution. */
const definition = {
  StartAt: 'Score',
  States: {
    Score: {
      Type: 'Map',
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'JSONL' }, Parameters: { Bucket: 'b', Key: 'in.jsonl' } },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
        StartAt: 'Work',
        // As the batch ASL's ScoreBatch: a child has its own timeout, longer than the wait below.
        States: { Work: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:work', TimeoutSeconds: 300, End: true } },
      },
      End: true,
    },
  },
};

const objects: LocalMapObjects = {
  getText: async () => '{"n":1}\n{"n":2}\n',
  putText: async () => undefined,
} as unknown as LocalMapObjects;

afterEach(() => {
  vi.useRealTimers();
});

describe('localizeDistributedMaps', () => {
  it('runs a map longer than the local runner’s 60-second Task default, as Step Functions does (a Map run has no timeout)', async () => {
    // Prepare: a child that finishes only when the test says, and the runner's clock under the test's control.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let finish: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const local = localizeDistributedMaps(definition as never, {
      objects,
      processorHandlers: { Work: async (input) => (await slow, input) },
      maxConcurrency: 1,
    });
    const machine = new StateMachine(local.definition, { validationOptions: { checkPaths: true, checkArn: true } });

    // Act: two minutes pass before the first child answers.
    const execution = machine.run({}, { overrides: { taskResourceLocalHandlers: local.handlers } });
    const settled = execution.result.then(
      (output: unknown) => ({ output }),
      (error: unknown) => ({ error: String(error) }),
    );
    await vi.advanceTimersByTimeAsync(120_000);
    finish();

    // Assess
    expect(await settled).toEqual({ output: [{ n: 1 }, { n: 2 }] });
    expect((local.definition.States as unknown as Record<string, { TimeoutSeconds?: number }>)['Score']?.TimeoutSeconds).toBe(LOCAL_MAP_TIMEOUT_SECONDS);
  });
});
