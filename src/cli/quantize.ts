/**
 * `maas models quantize NAME --to int8|int4 [--version V] [--keep-head]`: a new version with int8
 * or int4 MatMul weights (POST …/versions/{v}/quantize), and what it cost: the largest logit error,
 * greedy-token agreement and, for the zoo's language models, held-out bits per char.
 */
import type { QuantizeResult } from '../sdk/client';
import { type CliIO, client, only, type Parsed, UsageError } from './shared';

const USAGE = 'maas models quantize NAME --to int8|int4 [--version V] [--keep-head]';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The lines the command prints for one answer. */
export function quantizeLines(name: string, r: QuantizeResult): string[] {
  const q = r.quantization;
  const meta = r.version.metadata as Record<string, unknown>;
  const from = (meta.lineage as { quantized_from?: { version: number } } | undefined)?.quantized_from;
  const lines = [
    `quantized ${name} version ${from?.version ?? '?'} → version ${r.version.version} (${q.to}: ${q.nodes} MatMul nodes, ${q.parameters} parameters, weights ${mb(q.weightBytes.before)} → ${mb(q.weightBytes.after)})`,
  ];
  if (typeof meta.graph === 'string') lines.push(`  graph ${meta.graph}`);
  for (const k of q.keptFloat) lines.push(`  kept float: ${k.node} (${k.reason})`);
  const quality = r.quality;
  lines.push(
    `  max |logit error| ${quality.maxLogitError.toFixed(4)} (float logits span ${quality.logitRange.toFixed(2)}), top-token agreement ${pct(quality.agreement)} over ${quality.positions} positions`,
  );
  const bpc = quality.bitsPerChar;
  if (bpc)
    lines.push(
      `  held-out bits per char: float ${bpc.float.toFixed(4)}, ${q.to} ${bpc.quantized.toFixed(4)} (${bpc.relativeCost >= 0 ? '+' : ''}${(bpc.relativeCost * 100).toFixed(2)} %) over ${bpc.characters} characters`,
    );
  lines.push(`  measured on: ${quality.method}`);
  return lines;
}

export async function quantizeCommand(p: Parsed, io: CliIO): Promise<void> {
  only(p.flags, 'models quantize');
  const name = p.positional[2];
  const to = p.flags['--to'];
  if (!name || p.positional.length > 3) throw new UsageError(USAGE);
  if (to !== 'int8' && to !== 'int4') throw new UsageError(`--to must be int8 or int4; ${USAGE}`);
  const r = await (await client(p.flags, io)).quantizeModel(name, to, {
    version: p.flags['--version'],
    keepHead: p.flags['--keep-head'] === 'true',
  });
  for (const line of quantizeLines(name, r)) io.out(line);
}
