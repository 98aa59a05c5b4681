import { ciRequiresEveryCheck, notCheckedLine, OPTIONAL_TOOLS, type OptionalTool } from './support/optional-tools.ts';

/**
 * Before the tests: with `CI` set, every optional tool must be present (a missing one fails the run before any
 * test). After them, without `CI`: one line naming what was not checked and how to get it.
 */
export function checkOptionalTools(tools: readonly OptionalTool[], env: NodeJS.ProcessEnv, print: (line: string) => void): () => void {
  const missing = tools.filter((tool) => !tool.present());
  const line = notCheckedLine(missing);
  if (line !== undefined && ciRequiresEveryCheck(env)) {
    const names = missing.map((tool) => tool.name).join(' and ');
    throw new Error(`CI is set and ${names} ${missing.length === 1 ? 'is' : 'are'} missing: ${missing.map((t) => `${t.checks} needs ${t.name} (${t.install})`).join('; ')}`);
  }
  return () => {
    if (line !== undefined) print(line);
  };
}

export default function setup(): () => void {
  return checkOptionalTools(OPTIONAL_TOOLS, process.env, (line) => console.log(`\n${line}\n`));
}
