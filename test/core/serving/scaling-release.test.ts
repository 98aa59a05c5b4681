import { describe, expect, it } from 'vitest';
import { releaseOtherVariants, type VariantScalableTargets, variantOfResourceId, variantResourceId } from '#core/serving/scaling-release.ts';

/** Scalable targets held in a map of endpoint to variants, recording the deregistrations. */
function targets(registered: Record<string, string[]>): VariantScalableTargets & { deregistered: string[] } {
  const deregistered: string[] = [];
  return {
    deregistered,
    registeredVariants: async (endpoint) => [...(registered[endpoint] ?? [])],
    deregister: async (endpoint, variant) => {
      deregistered.push(variantResourceId(endpoint, variant));
    },
  };
}

describe('releaseOtherVariants', () => {
  it('deregisters every variant of the endpoint but the one kept, in the order listed', async () => {
    const scalable = targets({ credit: ['ml-g5-xlarge', 'ml-c6i-large', 'ml-m5-large'], other: ['ml-c6i-large'] });
    expect(await releaseOtherVariants(scalable, 'credit', 'ml-c6i-large')).toEqual(['ml-g5-xlarge', 'ml-m5-large']);
    expect(scalable.deregistered).toEqual(['endpoint/credit/variant/ml-g5-xlarge', 'endpoint/credit/variant/ml-m5-large']);
  });

  it('releases nothing when only the kept variant, or nothing, is registered', async () => {
    const scalable = targets({ credit: ['ml-c6i-large'] });
    expect(await releaseOtherVariants(scalable, 'credit', 'ml-c6i-large')).toEqual([]);
    expect(await releaseOtherVariants(scalable, 'fraud', 'ml-c6i-large')).toEqual([]);
    expect(scalable.deregistered).toEqual([]);
  });

  it('stops at the first deregistration that fails, having released the ones before it', async () => {
    const deregistered: string[] = [];
    const scalable: VariantScalableTargets = {
      registeredVariants: async () => ['a', 'b', 'c'],
      deregister: async (_endpoint, variant) => {
        if (variant === 'b') throw new Error('throttled');
        deregistered.push(variant);
      },
    };
    await expect(releaseOtherVariants(scalable, 'credit', 'c')).rejects.toThrow('throttled');
    expect(deregistered).toEqual(['a']);
  });
});

describe('variant resource ids', () => {
  it('names a variant of an endpoint as Application Auto Scaling does, and reads it back', () => {
    expect(variantResourceId('credit', 'ml-c6i-large')).toBe('endpoint/credit/variant/ml-c6i-large');
    expect(variantOfResourceId('credit', 'endpoint/credit/variant/ml-c6i-large')).toBe('ml-c6i-large');
  });

  it.each([
    ['another endpoint', 'endpoint/fraud/variant/ml-c6i-large'],
    ['an endpoint whose name extends this one', 'endpoint/credit-2/variant/a'],
    ['no variant', 'endpoint/credit/variant/'],
    ['a path below a variant', 'endpoint/credit/variant/a/b'],
    ['something else', 'table/credit'],
    ['the variant prefix without its endpoint', 'variant/a'],
  ])('reads no variant from %s', (_what, resourceId) => {
    expect(variantOfResourceId('credit', resourceId)).toBeUndefined();
  });
});
