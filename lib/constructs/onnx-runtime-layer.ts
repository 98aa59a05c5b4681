import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code, type ILayerVersion, LayerVersion } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { LambdaArchitecture } from '../config.ts';
import { lambdaArchitecture, MLOPS_RUNTIME, PROJECT_ROOT } from './mlops-function.ts';

/** Modules the layer provides; functions using the layer must leave them out of their bundle. */
export const ONNX_RUNTIME_MODULES = ['onnxruntime-node', 'onnxruntime-common'];

/** Lambda's limit on the unzipped size of a function and all its layers. */
export const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024;

const NODE_MODULES = join(PROJECT_ROOT, 'node_modules');
const ORT_NODE = join(NODE_MODULES, 'onnxruntime-node');
const ORT_COMMON = join(NODE_MODULES, 'onnxruntime-common');

/**
 * Bumped whenever the selection of files below changes, so that the custom asset hash changes with it.
 */
const LAYOUT_VERSION = '1';

/** One file to copy: absolute source, destination relative to the layer root. */
interface LayerFile {
  readonly source: string;
  readonly target: string;
  readonly size: number;
}

/** Node's `process.arch` for a Lambda architecture (the binding is loaded from `bin/napi-v6/linux/<arch>`). */
function nodeArch(arch: LambdaArchitecture): 'x64' | 'arm64' {
  return arch === 'arm64' ? 'arm64' : 'x64';
}

function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full, keep));
    else if (entry.isFile() && keep(entry.name)) out.push(full);
  }
  return out.sort();
}

const isRuntimeJs = (name: string): boolean => name.endsWith('.js') || name === 'package.json';

function packageVersion(dir: string): string {
  const json: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (typeof json === 'object' && json !== null && 'version' in json && typeof json.version === 'string') {
    return json.version;
  }
  throw new Error(`no version in ${join(dir, 'package.json')}`);
}

/**
 * Exactly what `require('onnxruntime-node')` needs on Linux for one architecture:
 *  - onnxruntime-node: package.json, the compiled JS (dist/, lib/ if it holds JS), and
 *    bin/napi-v6/linux/<arch>/{onnxruntime_binding.node, libonnxruntime.so.1} (the binding's RUNPATH is $ORIGIN);
 *    other platforms, other architectures and any extra copy of the shared library are left out;
 *  - onnxruntime-common (required by onnxruntime-node): package.json and its dist JS (cjs and esm).
 * Type declarations and source maps are left out.
 */
function layerFiles(arch: LambdaArchitecture): LayerFile[] {
  if (!existsSync(ORT_NODE) || !existsSync(ORT_COMMON)) {
    throw new Error(`onnxruntime-node / onnxruntime-common not found under ${NODE_MODULES}: run npm ci`);
  }
  const binDir = join(ORT_NODE, 'bin', 'napi-v6', 'linux', nodeArch(arch));
  const binaries = ['onnxruntime_binding.node', 'libonnxruntime.so.1'].map((name) => join(binDir, name));
  for (const binary of binaries) {
    if (!existsSync(binary)) throw new Error(`missing ONNX Runtime binary ${binary}`);
  }
  const sources: Array<[root: string, files: string[]]> = [
    [
      ORT_NODE,
      [
        join(ORT_NODE, 'package.json'),
        ...filesUnder(join(ORT_NODE, 'dist'), isRuntimeJs),
        ...filesUnder(join(ORT_NODE, 'lib'), isRuntimeJs),
        ...binaries,
      ],
    ],
    [ORT_COMMON, [join(ORT_COMMON, 'package.json'), ...filesUnder(join(ORT_COMMON, 'dist'), isRuntimeJs)]],
  ];
  return sources.flatMap(([root, files]) =>
    files.map((source) => ({
      source,
      target: join('nodejs', 'node_modules', relative(NODE_MODULES, root), relative(root, source)),
      size: statSync(source).size,
    })),
  );
}

export interface OnnxRuntimeLayerProps {
  readonly architecture: LambdaArchitecture;
}

/**
 * A Lambda layer with onnxruntime-node (and onnxruntime-common) for one architecture, under
 * `/opt/nodejs/node_modules` (on NODE_PATH in Lambda's Node.js runtimes).
 *
 * Built by copying from the repository's node_modules: no Docker. The npm package ships prebuilt Linux
 * binaries for x64 and arm64, so only the files for the chosen architecture are copied.
 */
export class OnnxRuntimeLayer extends Construct {
  public readonly layer: ILayerVersion;

  /** Unzipped size in bytes of what the layer holds for `arch` (Lambda allows 250 MB with function code). */
  public static contentSizeBytes(arch: LambdaArchitecture): number {
    return layerFiles(arch).reduce((sum, file) => sum + file.size, 0);
  }

  /** Layer-relative paths of the files for `arch`. */
  public static contentPaths(arch: LambdaArchitecture): string[] {
    return layerFiles(arch).map((file) => file.target);
  }

  public constructor(scope: Construct, id: string, props: OnnxRuntimeLayerProps) {
    super(scope, id);
    const arch = props.architecture;
    const version = packageVersion(ORT_NODE);
    // Hash of versions, architecture and the file list with sizes: stable across machines, no 300 MB hashing.
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ LAYOUT_VERSION, arch, version, common: packageVersion(ORT_COMMON) }))
      .update(JSON.stringify(layerFiles(arch).map((file) => [file.target, file.size])))
      .digest('hex');

    const code = Code.fromAsset(ORT_NODE, {
      assetHashType: AssetHashType.CUSTOM,
      assetHash: fingerprint,
      bundling: {
        // Never used: local bundling always succeeds, and the layer must not depend on Docker.
        image: DockerImage.fromRegistry('none-local-only'),
        local: {
          tryBundle(outputDir: string): boolean {
            for (const file of layerFiles(arch)) {
              const target = join(outputDir, file.target);
              mkdirSync(dirname(target), { recursive: true });
              copyFileSync(file.source, target);
            }
            return true;
          },
        },
      },
    });

    this.layer = new LayerVersion(this, 'Layer', {
      code,
      compatibleRuntimes: [MLOPS_RUNTIME],
      compatibleArchitectures: [lambdaArchitecture(arch)],
      description: `onnxruntime-node ${version} for Node.js 24 on linux-${nodeArch(arch)}`,
      license: 'MIT',
    });
  }
}
