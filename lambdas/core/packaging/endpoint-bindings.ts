/**
 * Which package a local SageMaker endpoint serves: the local stand-in for CreateEndpoint. `mlops --local package`
 * writes `sagemaker/endpoints/{endpoint}.json` into the local artifact bucket beside the package; the local
 * SageMaker-runtime server reads it on each call. In AWS the GpuEndpoint construct does this job (lib/).
 */

export interface EndpointBinding {
  readonly endpoint_name: string;
  readonly model: string;
  readonly version: number;
  /** Object key of the `model.tar.gz` in the artifact bucket. */
  readonly package_key: string;
  readonly package_sha256: string;
}

interface BindingStore {
  putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  getBytesIfExists(key: string): Promise<Uint8Array | undefined>;
}

export function endpointBindingKey(endpointName: string): string {
  return `sagemaker/endpoints/${endpointName}.json`;
}

export async function writeEndpointBinding(store: BindingStore, binding: EndpointBinding): Promise<void> {
  const json = new TextEncoder().encode(`${JSON.stringify(binding, null, 2)}\n`);
  await store.putBytes(endpointBindingKey(binding.endpoint_name), json, 'application/json');
}

/** The binding of an endpoint, or undefined when nothing was packaged for it. */
export async function readEndpointBinding(store: BindingStore, endpointName: string): Promise<EndpointBinding | undefined> {
  const bytes = await store.getBytesIfExists(endpointBindingKey(endpointName));
  return bytes === undefined ? undefined : (JSON.parse(new TextDecoder().decode(bytes)) as EndpointBinding);
}
