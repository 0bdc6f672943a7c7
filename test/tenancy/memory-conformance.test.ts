import { SlidingWindowRateLimiter } from '../../src/platform/tenancy/sliding-window';
import { createMemoryStores } from '../../src/store/memory/index';
import { describeTenancyStoreConformance } from './conformance';
import { describeRateLimiterConformance } from './limiter-conformance';

describeTenancyStoreConformance('memory', async () => ({ stores: createMemoryStores(), close: () => {} }));
describeRateLimiterConformance('in-process sliding window', (clock) => new SlidingWindowRateLimiter(clock));
