/** The model registry and the artifact bucket: their deployment settings and the names they share with the runtime. */
import type * as z from 'zod';
import { integerIn, strictObject } from './schema.ts';

/** Model names: the registry's rule, also the rule of the config's model and endpoint keys. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9-_]{0,62}$/;

/** The `registry` block. */
export const registryConfig = strictObject({
  cacheTtlSeconds: integerIn(0, 3600)
    .default(30)
    .meta({ description: 'How long the predict function caches registry lookups, in seconds (0 disables the cache).' }),
  staleServingSeconds: integerIn(0, 86_400)
    .default(900)
    .meta({
      description:
        "How long after its last successful registry read a model's serving config (production, canary, shadow) keeps serving while the registry cannot be read, in seconds (0: answer 503 REGISTRY_UNAVAILABLE once the cache TTL has passed).",
    }),
});

/** The `artifacts` block. */
export const artifactsConfig = strictObject({
  noncurrentVersionExpirationDays: integerIn(1, 3650)
    .default(90)
    .meta({ description: 'Days after which noncurrent versions of artifact objects are deleted.' }),
});

export type RegistryConfig = z.output<typeof registryConfig>;
export type ArtifactsConfig = z.output<typeof artifactsConfig>;
