// Worker-thread entry for release.test.ts: registers tsx in this thread, then runs the TypeScript body.
import { register } from 'tsx/esm/api';

register();
await import('./release-worker.ts');
