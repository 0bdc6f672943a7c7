import { GcraRateLimiter } from '../../src/platform/tenancy/gcra';
import { createMemoryStores } from '../../src/platform/tenancy/memory/index';
import { describeStoreConformance } from './conformance';
import { describeRateLimiterConformance } from './limiter-conformance';

describeStoreConformance('memory', async () => ({ stores: createMemoryStores(), close: () => {} }));
describeRateLimiterConformance('in-process GCRA', (clock) => new GcraRateLimiter(clock));
