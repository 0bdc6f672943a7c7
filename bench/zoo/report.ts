/**
 * The zoo's training-time benchmark, read back from a data folder that `maas zoo train` filled:
 * one row per zoo model (metric, value, target, met?, train seconds), written as
 * bench/results/zoo-train.json and .md, with word2vec's neighbours; `--grid FILE` also draws the
 * installed `image-gen`'s sample grid (one row per class; `--grid-model fashion-gen` for another
 * image-gen row). Training itself is the real CLI:
 *
 *   node bin/maas.js zoo train --data-dir /tmp/zoo-data
 *   node --import tsx bench/zoo/report.ts --data-dir /tmp/zoo-data [--out bench/results] [--note "..."]
 *     [--grid docs/images/image-gen-grid.png] [--grid-model image-gen]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EngineSession } from '../../src/engine/runtime/session';
import { encodePng } from '../../src/models/common/image';
import { sampleGrid } from '../../src/models/vision/index';
import { loadConfig } from '../../src/platform/config';
import { openPlatform, type Platform } from '../../src/platform/platform';
import { ZOO_TENANT, type ZooStatusRow, zooStatus } from '../../src/platform/zoo';

interface ZooResultRow {
  model: string;
  family: string;
  version: number | null;
  metric: string | null;
  value: number | null;
  target: string | null;
  met: boolean | null;
  trainSeconds: number | null;
  details: Record<string, unknown>;
}

/** The fixed target and the installed rivals to beat, e.g. "< 4.500, < lstm-lm 2.233". */
function targetText(q: NonNullable<ZooStatusRow['quality']>, r: ZooStatusRow): string {
  const fixed = q.target === undefined ? [] : [`${q.higherIsBetter ? '>=' : '<'} ${q.target.toFixed(3)}`];
  const rivals = r.rivals.map((x) => `${q.higherIsBetter ? '>' : '<'} ${x.name} ${x.value.toFixed(3)}`);
  return [...fixed, ...rivals].join(', ');
}

function resultRow(r: ZooStatusRow): ZooResultRow {
  const q = r.quality;
  return {
    model: r.name,
    family: r.family,
    version: r.version,
    metric: q?.metric ?? null,
    value: q?.value ?? null,
    target: q?.target === undefined ? null : targetText(q, r),
    // No target (cppn: nothing is learned) → nothing to meet.
    met: q?.target === undefined ? null : r.meetsTarget,
    trainSeconds: r.trainSeconds,
    details: q?.details ?? {},
  };
}

const num = (v: number | null, digits: number) => (v === null ? '—' : v.toFixed(digits));

function markdown(rows: ZooResultRow[], header: string[]): string {
  const lines = [
    ...header,
    '',
    '| model | family | metric | value | target | met? | train s |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const value =
      r.value === null ? '—' : Math.abs(r.value) >= 1000 ? r.value.toFixed(0) : r.value.toFixed(4);
    const met = r.met === null ? '—' : r.met ? 'yes' : 'NO';
    lines.push(
      `| ${r.model} | ${r.family} | ${r.metric ?? '—'} | ${value} | ${r.target ?? '—'} | ${met} | ${num(r.trainSeconds, 0)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Neighbour lines of the word2vec row (`whale → sperm 0.87, …`), as the zoo measured them. */
function neighbourLines(rows: ZooResultRow[]): string[] {
  const n = rows.find((r) => r.model === 'word2vec')?.details.neighbours as
    | Record<string, string[]>
    | undefined;
  return n ? Object.entries(n).map(([w, near]) => `${w.padEnd(8)} → ${near.join(', ')}`) : [];
}

/** An installed image-gen row's samples: 10 per class (seed 7, the model's own temperature). */
async function drawGrid(platform: Platform, file: string, model: string): Promise<void> {
  const version = await platform.registry.resolve(ZOO_TENANT, model);
  const vocabulary = version.metadata.vocabulary as { classes?: unknown[] } | undefined;
  const session = await EngineSession.create(await readFile(platform.artifacts.pathOf(version.digest)));
  try {
    const grid = await sampleGrid((inputs, o) => session.run(inputs, o?.outputs), {
      latentDim: Number(version.metadata.latentDim),
      classes: vocabulary?.classes?.length ?? 10,
      columns: 10,
      seed: 7,
      temperature: Number(version.metadata.temperature),
    });
    await writeFile(file, encodePng(grid));
  } finally {
    await session.release();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      out: { type: 'string', default: 'bench/results' },
      note: { type: 'string', default: '' },
      grid: { type: 'string' },
      'grid-model': { type: 'string', default: 'image-gen' },
    },
  });
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required (the folder `maas zoo train` filled)');
  const platform = await openPlatform(loadConfig({}, { '--data-dir': dataDir }));
  let rows: ZooResultRow[];
  try {
    rows = (await zooStatus(platform)).map(resultRow);
    if (values.grid) await drawGrid(platform, values.grid, values['grid-model']);
  } finally {
    await platform.close();
  }
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    logicalCores: os.cpus().length,
    node: process.version,
    loadAverageAtReport: os.loadavg().map((x) => Number(x.toFixed(2))),
    reported: new Date().toISOString(),
  };
  const command = 'node bin/maas.js zoo train --data-dir DIR';
  await mkdir(values.out, { recursive: true });
  const json = { command, note: values.note, machine, rows };
  await writeFile(join(values.out, 'zoo-train.json'), `${JSON.stringify(json, null, 2)}\n`);
  const header = [
    '# Zoo training: quality and train time per model',
    '',
    `Command: \`${command}\` (seeded, full scale); ${machine.logicalCores} × ${machine.cpu}, Node ${machine.node}.`,
    ...(values.note ? ['', values.note] : []),
  ];
  const near = neighbourLines(rows);
  const md = `${markdown(rows, header)}${near.length ? `\nword2vec nearest neighbours (cosine):\n\n\`\`\`\n${near.join('\n')}\n\`\`\`\n` : ''}`;
  await writeFile(join(values.out, 'zoo-train.md'), md);
  process.stdout.write(md);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
