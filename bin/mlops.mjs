#!/usr/bin/env node
// Launcher of the mlops CLI: registers tsx so Node runs the TypeScript sources as they are.
import { register } from 'tsx/esm/api';

register();
await import('./mlops.ts');
