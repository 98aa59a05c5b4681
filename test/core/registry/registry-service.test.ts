import { beforeAll } from 'vitest';
import { InMemoryRegistryStore } from '../../support/in-memory-registry-store.ts';
import { describeRegistryStoreContract } from '../../support/registry-store-contract.ts';

/**
 * RegistryService's lifecycle rules over the in-memory store, and the in-memory store itself, held to the same
 * contract as the DynamoDB adapter (test/adapters/dynamodb-registry.test.ts).
 */

let store: InMemoryRegistryStore;

beforeAll(() => {
  store = new InMemoryRegistryStore();
});

describeRegistryStoreContract('InMemoryRegistryStore', () => store);
