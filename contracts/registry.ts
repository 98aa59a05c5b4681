/** The model registry and the artifact bucket: their deployment settings and the names they share with the runtime. */
import type * as z from 'zod';
import { integerIn, strictObject } from './schema.ts';

/** Model names: the registry's rule, also the rule of the config's model and endpoint keys. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9-_]{0,62}$/;

/** The `registry` block. */
export const registryConfig = strictObject({
  cacheTtlSeconds: integerIn(0, 3600)
    .default(30)
    .meta({ description: 'How long the function trusts a model\'s production pointer before reading the registry again; 0 disables the cache. Also how long a promotion takes to reach every warm container. Env `REGISTRY_CACHE_TTL_SECONDS`.' }),
  staleServingSeconds: integerIn(0, 86_400)
    .default(900)
    .meta({
      description:
        'How long after its last successful read a model\'s serving config (production, canary, shadow) keeps serving while the registry cannot be read (DynamoDB unreachable or throttled); the registry is tried again once per cache TTL, each time counted in `StaleServingConfig`. Past it (checked at each refresh, so up to one TTL later) predict answers `503 REGISTRY_UNAVAILABLE`; 0 answers 503 as soon as the TTL has passed. A container that never read the config answers 503 at once. Env `REGISTRY_STALE_SERVING_SECONDS`.',
    }),
});

/** The `artifacts` block. */
export const artifactsConfig = strictObject({
  noncurrentVersionExpirationDays: integerIn(1, 3650)
    .default(90)
    .meta({ description: 'Lifecycle rule on the artifact bucket: noncurrent object versions are deleted after this many days.' }),
});

export type RegistryConfig = z.output<typeof registryConfig>;
export type ArtifactsConfig = z.output<typeof artifactsConfig>;
