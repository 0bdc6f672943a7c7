import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { isMaasError, type MaasError } from '../../src/common/errors';
import {
  type Clock,
  createMemoryStores,
  createTenancy,
  type MemoryStores,
  type MintedKey,
  type Principal,
  type Tenancy,
} from '../../src/platform/tenancy/index';

export interface World {
  tenancy: Tenancy;
  stores: MemoryStores;
  admin: Principal;
  adminKey: MintedKey;
}

/** A tenancy over fresh in-memory stores with a bootstrapped admin key in tenant `root`. */
export async function makeWorld(clock?: Clock): Promise<World> {
  const stores = createMemoryStores();
  const tenancy = createTenancy({ stores, pepper: randomBytes(32), clock });
  await tenancy.tenants.ensure('root');
  const adminKey = await tenancy.keys.bootstrapAdmin('root', 'root-admin');
  const admin = await tenancy.keys.resolve(adminKey.key);
  return { tenancy, stores, admin, adminKey };
}

/** Await a promise that must reject with a catalog error; returns it for further checks. */
export async function rejection(promise: Promise<unknown>): Promise<MaasError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isMaasError(error)) throw new Error(`expected a MaasError, got ${String(error)}`);
  return error;
}

export async function expectCode(promise: Promise<unknown>, code: string): Promise<MaasError> {
  const error = await rejection(promise);
  expect(error.code).toBe(code);
  return error;
}
