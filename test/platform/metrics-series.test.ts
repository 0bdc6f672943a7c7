import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/platform/metrics';

describe('metric series', () => {
  it('are one series whatever order the labels come in, with names sorted in the scrape', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter('maas_test_total', 'test');
    c.inc({ model: 'm', code: '200' });
    c.inc({ code: '200', model: 'm' });
    c.inc({ a: 'x', model: 'm', code: '200' });
    expect(c.get({ model: 'm', code: '200' })).toBe(2);
    expect(registry.render()).toContain('maas_test_total{code="200",model="m"} 2');
    expect(registry.render()).toContain('maas_test_total{a="x",code="200",model="m"} 1');
  });

  it('escape backslashes, quotes and newlines in values and leave plain values as they are', () => {
    const registry = new MetricsRegistry();
    const g = registry.gauge('maas_test_gauge', 'test');
    g.set({ model: 'a"b\\c\nd' }, 3);
    g.set({ model: 'plain-name_1.2' }, 4);
    const text = registry.render();
    expect(text).toContain('maas_test_gauge{model="a\\"b\\\\c\\nd"} 3');
    expect(text).toContain('maas_test_gauge{model="plain-name_1.2"} 4');
  });
});
