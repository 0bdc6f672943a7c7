/**
 * A process that takes the PostgreSQL lead and holds it until it is killed (the leader test's
 * "other process"). Args: database URL, schema. Prints `leading` or `following`.
 */
import { postgresLeaderLock } from '../../src/store/postgres/leader';

const [url, schema] = process.argv.slice(2);
const leading = await postgresLeaderLock(url!, schema).tryAcquire();
process.stdout.write(leading ? 'leading\n' : 'following\n');
setInterval(() => {}, 60_000); // hold the session until killed
