#!/usr/bin/env node
// Launcher for the `maas` command: registers tsx (TypeScript without a build step), then runs
// the CLI. `npm start` does the same with `node --import tsx src/cli/main.ts serve`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
