/** The error a synchronous call throws, so a test can assert its class and message; fails when it does not throw. */
export function thrown(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}
