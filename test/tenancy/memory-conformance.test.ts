import { createMemoryStores } from '../../src/platform/tenancy/memory/index';
import { SlidingWindowRateLimiter } from '../../src/platform/tenancy/sliding-window';
import { describeStoreConformance } from './conformance';
import { describeRateLimiterConformance } from './limiter-conformance';

describeStoreConformance('memory', async () => ({ stores: createMemoryStores(), close: () => {} }));
describeRateLimiterConformance('in-process sliding window', (clock) => new SlidingWindowRateLimiter(clock));
