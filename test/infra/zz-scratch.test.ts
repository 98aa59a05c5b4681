import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { it } from 'vitest';
import { buildStack } from './support.ts';
it('scratch', () => {
  Validations.prototype.acknowledge = function () {};
  const { app } = buildStack();
  const r = new AwsSolutionsChecks().validateScope(app);
  console.log('COUNT', r.violations.length, JSON.stringify(r.violations.map((v) => v.ruleName)));
});
