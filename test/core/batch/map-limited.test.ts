import { describe, expect, it } from 'vitest';
import { mapLimited } from '#core/batch/batch-job.ts';

describe('mapLimited', () => {
  it('keeps the order of the items and never has more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: 100 }, (_, i) => i);

    const results = await mapLimited(items, 16, async (i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      // Later items finish first: the order must come from the index, not from completion.
      await new Promise((resolve) => setTimeout(resolve, (100 - i) % 7));
      inFlight--;
      return i * 2;
    });

    expect(results).toEqual(items.map((i) => i * 2));
    expect(most).toBe(16);
  });

  it('maps nothing to nothing, and rejects with the first failure', async () => {
    await expect(mapLimited([], 4, async () => 1)).resolves.toEqual([]);
    await expect(mapLimited([1, 2, 3], 2, async (i) => (i === 2 ? Promise.reject(new Error('part 2 unreadable')) : i))).rejects.toThrow('part 2 unreadable');
  });
});
