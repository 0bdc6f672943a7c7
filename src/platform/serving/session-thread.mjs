// Worker-thread entry for ThreadedSession: registers tsx (TypeScript without a build step) in this
// thread, then runs the TypeScript worker body. Plain JS so it loads under any parent loader.
import { register } from 'tsx/esm/api';

register();
await import('./session-thread-main.ts');
