/**
 * What a client needs to know before it shows anything (the web console asks both at sign-in):
 *
 *   GET /api/v1/me        the caller's key: tenant, key id, scopes, limits (no secret)
 *   GET /api/v1/families  the training families with every hyperparameter's kind, range,
 *                         default and meaning, so a form can be built from them
 */
import { commonHyperparameters, families } from '../models/families/index';
import type { RouteSpec } from './route';

const base = { surface: 'native' as const, body: 'none' as const, owned: null, access: 'infer' as const };

export const accountRoutes: RouteSpec[] = [
  {
    ...base,
    method: 'GET',
    path: '/api/v1/me',
    summary: "The caller's key: tenant, key id, scopes and limits (what a client may show)",
    handler: ({ principal }) => ({
      tenant: principal.tenantId,
      key_id: principal.keyId,
      scopes: [...principal.scopes],
      limits: principal.limits,
    }),
  },
  {
    ...base,
    method: 'GET',
    path: '/api/v1/families',
    summary: 'Training families: the datasets each trains on and its hyperparameters (kind, range, default)',
    handler: () => ({
      families: families.list().map((f) => ({
        name: f.name,
        description: f.description,
        dataset_kinds: [...f.datasetKinds],
        hyperparameters: { ...commonHyperparameters, ...f.hyperparameters },
      })),
    }),
  },
];
