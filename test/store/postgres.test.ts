/**
 * The model, dataset and training store conformance suites against PostgreSQL, in a fresh schema
 * per run (emptied before each test, dropped at the end). The tenancy suite runs in
 * `test/tenancy/postgres-conformance.test.ts`, the adapter's own behaviour in
 * `./postgres-adapter.test.ts`. Skipped with a printed line when no server answers (failed
 * instead with MAAS_REQUIRE_SERVICES=1).
 */
import { afterAll, describe } from 'vitest';
import { postgresAvailable, sharedPostgresSchema } from '../helpers/postgres';
import { describeModelStoreConformance } from './conformance';
import { describeDatasetStoreConformance, describeTrainingStoreConformance } from './training-conformance';
import { describeWorkItemConformance } from './work-items-conformance';

const available = await postgresAvailable('the model, dataset and training store conformance suites');

describe.skipIf(!available)('postgresql', () => {
  const schema = sharedPostgresSchema();
  afterAll(schema.drop);
  describeModelStoreConformance('postgresql', schema.open);
  describeDatasetStoreConformance('postgresql', schema.open);
  describeTrainingStoreConformance('postgresql', schema.open);
  describeWorkItemConformance('postgresql', schema.open);
});
