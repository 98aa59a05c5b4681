import { describe, expect, it } from 'vitest';
import { checkOptionalTools } from './global-setup.ts';
import { ciRequiresEveryCheck, type OptionalTool } from './support/optional-tools.ts';

const tool = (name: string, present: boolean): OptionalTool => ({ name, checks: `the ${name} checks`, install: `get ${name}`, present: () => present });

describe('checkOptionalTools', () => {
  it('prints nothing when every tool is present, with or without CI', () => {
    const printed: string[] = [];
    checkOptionalTools([tool('a', true), tool('b', true)], { CI: 'true' }, (line) => printed.push(line))();
    checkOptionalTools([tool('a', true)], {}, (line) => printed.push(line))();
    expect(printed).toEqual([]);
  });

  it('without CI, says in one line at the end what was not checked and how to get it', () => {
    const printed: string[] = [];
    const teardown = checkOptionalTools([tool('cfn-lint', false), tool('b', true), tool('chromium', false)], {}, (line) => printed.push(line));
    expect(printed).toEqual([]);
    teardown();
    expect(printed).toEqual([
      'not checked here: the cfn-lint checks (cfn-lint: get cfn-lint); the chromium checks (chromium: get chromium); with CI=true they are required',
    ]);
  });

  it('with CI set, fails before any test, naming the missing tools', () => {
    expect(() => checkOptionalTools([tool('cfn-lint', false), tool('chromium', true)], { CI: 'true' }, () => undefined)).toThrow(
      'CI is set and cfn-lint is missing: the cfn-lint checks needs cfn-lint (get cfn-lint)',
    );
  });
});

describe('ciRequiresEveryCheck', () => {
  it('reads CI as CI services set it, and false, 0 or empty as unset', () => {
    expect([{ CI: 'true' }, { CI: '1' }, { CI: 'yes' }].map((env) => ciRequiresEveryCheck(env))).toEqual([true, true, true]);
    expect([{}, { CI: '' }, { CI: 'false' }, { CI: '0' }].map((env) => ciRequiresEveryCheck(env))).toEqual([false, false, false, false]);
  });
});
