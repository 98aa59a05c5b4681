import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.ts';
import {
  CDK_SCHEMA_PATH,
  CONFIG_SCHEMA_PATH,
  configFields,
  configJsonSchema,
  GENERATE_COMMAND,
  generatedFiles,
  ROOT,
} from '../../scripts/generate-config.ts';

type Schema = { properties?: Record<string, Schema>; additionalProperties?: unknown; $ref?: string; $defs?: Record<string, Schema> };

describe('files generated from the config schema', () => {
  it.each(generatedFiles())('$path is up to date', ({ path, text }) => {
    const current = readFileSync(join(ROOT, path), 'utf8');
    // A stale file names the command that regenerates it (a field was added or changed in contracts/).
    expect(current === text, `${path} is stale: run \`${GENERATE_COMMAND}\` and commit the result`).toBe(true);
  });

  it('cdk.json names the generated schema, and every key of its mlops block is a property of it', () => {
    const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { $schema: string; context: { mlops: Record<string, unknown> } };
    expect(cdkJson.$schema).toBe(`./${CDK_SCHEMA_PATH}`);
    const cdkSchema = JSON.parse(readFileSync(join(ROOT, CDK_SCHEMA_PATH), 'utf8')) as Schema;
    expect(cdkSchema.properties?.['context']?.properties?.['mlops']?.$ref).toBe('#/$defs/mlopsConfig');
    const unknown: string[] = [];
    const walk = (value: unknown, schema: Schema | undefined, path: string): void => {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || schema?.properties === undefined) return;
      for (const [key, child] of Object.entries(value)) {
        const property = schema.properties[key] ?? (typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as Schema) : undefined);
        if (property === undefined) unknown.push(`${path}${key}`);
        walk(child, property, `${path}${key}.`);
      }
    };
    walk(cdkJson.context.mlops, cdkSchema.$defs?.['mlopsConfig'], 'mlops.');
    expect(unknown).toEqual([]);
  });

  it('refuses unknown keys the way synth does, and lets a config file name its schema', () => {
    const schema = configJsonSchema() as Schema & { additionalProperties: unknown; $schema: string };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties?.['$schema']).toMatchObject({ type: 'string' });
    expect(schema.properties?.['api']?.properties?.['maxBatchSize']).toMatchObject({ type: 'integer', minimum: 1, maximum: 10_000, default: 1000 });
    expect(CONFIG_SCHEMA_PATH).toMatch(/\.schema\.json$/);
  });

  it('describes every setting (the docs table has no empty description)', () => {
    expect(configFields().filter((row) => row.description === '').map((row) => row.field)).toEqual([]);
  });
});

describe('loadConfig and the $schema key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-config-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ignores a top-level $schema in a config file and in the mlops block, and still refuses other unknown keys', () => {
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ $schema: './schema/mlops-config.schema.json', api: { maxBatchSize: 5 } }));
    const context = (key: string): unknown => ({ mlops: { $schema: 'x', appName: 'schema-test' }, configFile: 'ok.json' })[key];
    const config = loadConfig(context, dir);
    expect(config.api.maxBatchSize).toBe(5);
    expect(config.appName).toBe('schema-test');

    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ $schema: './x.json', apiName: 'x' }));
    expect(() => loadConfig((key) => (key === 'configFile' ? 'bad.json' : undefined), dir)).toThrow(ConfigError);
    expect(() => loadConfig((key) => (key === 'configFile' ? 'bad.json' : undefined), dir)).toThrow(/config field "apiName" is not a known field/);
  });

  it('does not accept a $schema that is not a string (it is then an unknown field)', () => {
    expect(() => loadConfig((key) => (key === 'mlops' ? { $schema: 1 } : undefined), dir)).toThrow(/config field "\$schema" is not a known field/);
  });
});
