/** The default op registry: every op family, one table. */
import type { OpSpec } from '../ir/types';
import { activationOps } from './activation';
import { convOps } from './conv';
import { dynamicOps } from './dynamic';
import { elementwiseOps } from './elementwise';
import { gatherOps } from './gather';
import { lossOps } from './loss';
import { matmulOps } from './matmul';
import { normOps } from './norm';
import { quantizeOps } from './quantize';
import { reduceOps } from './reduce';
import { OpRegistry } from './registry';
import { shapeOps } from './shape';

export const opFamilies: Readonly<Record<string, readonly OpSpec[]>> = {
  elementwise: elementwiseOps,
  activation: activationOps,
  matmul: matmulOps,
  reduce: reduceOps,
  shape: shapeOps,
  gather: gatherOps,
  conv: convOps,
  dynamic: dynamicOps,
  quantize: quantizeOps,
  norm: normOps,
  loss: lossOps,
};

export function defaultRegistry(): OpRegistry {
  return new OpRegistry(Object.values(opFamilies).flat());
}

export { OpRegistry };
