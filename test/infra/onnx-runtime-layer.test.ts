import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LAMBDA_UNZIPPED_LIMIT_BYTES, OnnxRuntimeLayer } from '../../lib/constructs/onnx-runtime-layer.ts';
import { unbundledApp } from './support.ts';

/** Generous allowance for the bundled predict function code (esbuild output + source map). */
const FUNCTION_CODE_ALLOWANCE_BYTES = 20 * 1024 * 1024;

describe('OnnxRuntimeLayer', () => {
  it.each([
    ['x86_64', 'x86_64', 'x64'],
    ['arm64', 'arm64', 'arm64'],
  ] as const)('declares a nodejs24.x layer for %s', (arch, cfnArch, _nodeArch) => {
    const stack = new Stack(unbundledApp(), 'Layer');
    new OnnxRuntimeLayer(stack, 'Onnx', { architecture: arch });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleRuntimes: ['nodejs24.x'],
      CompatibleArchitectures: [cfnArch],
      LicenseInfo: 'MIT',
    });
  });

  it.each([
    ['x86_64', 'x64', 'arm64'],
    ['arm64', 'arm64', 'x64'],
  ] as const)('holds only the %s binary and the runtime JS', (arch, nodeArch, otherArch) => {
    const paths = OnnxRuntimeLayer.contentPaths(arch);
    const ort = 'nodejs/node_modules/onnxruntime-node';
    expect(paths).toContain(`${ort}/package.json`);
    expect(paths).toContain(`${ort}/dist/index.js`);
    expect(paths).toContain(`${ort}/dist/binding.js`);
    expect(paths).toContain(`${ort}/bin/napi-v6/linux/${nodeArch}/onnxruntime_binding.node`);
    expect(paths).toContain(`${ort}/bin/napi-v6/linux/${nodeArch}/libonnxruntime.so.1`);
    expect(paths).toContain('nodejs/node_modules/onnxruntime-common/package.json');
    expect(paths).toContain('nodejs/node_modules/onnxruntime-common/dist/cjs/index.js');

    const binaries = paths.filter((path) => path.includes('/bin/'));
    expect(binaries).toHaveLength(2);
    expect(paths.some((path) => path.includes(`/linux/${otherArch}/`))).toBe(false);
    expect(paths.some((path) => /\/(darwin|win32)\//.test(path))).toBe(false);
    expect(paths.some((path) => path.endsWith('.d.ts') || path.endsWith('.map'))).toBe(false);
  });

  it.each(['x86_64', 'arm64'] as const)('fits in the 250 MB unzipped limit with the function code (%s)', (arch) => {
    const size = OnnxRuntimeLayer.contentSizeBytes(arch);
    console.info(`onnx runtime layer (${arch}): ${(size / 1024 / 1024).toFixed(1)} MiB unzipped`);
    expect(size).toBeGreaterThan(1024 * 1024);
    expect(size + FUNCTION_CODE_ALLOWANCE_BYTES).toBeLessThan(LAMBDA_UNZIPPED_LIMIT_BYTES);
  });
});
