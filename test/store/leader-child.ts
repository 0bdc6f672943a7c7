/**
 * A process that takes the PostgreSQL lead and holds it until it is killed (the leader test's
 * "other process"). Args: database URL, schema. Prints `leading` or `following`.
 */
import { openPostgresStore } from '../../src/store/postgres/store';

const [url, schema] = process.argv.slice(2);
const store = await openPostgresStore(url!, { schema, migrate: false });
const leading = await store.leader.tryAcquire();
process.stdout.write(leading ? 'leading\n' : 'following\n');
setInterval(() => {}, 60_000); // hold the session until killed
