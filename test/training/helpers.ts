/** Shared by the training tests: datasets made on the fly, and waiting for a job over the API. */
import type { FastifyInstance } from 'fastify';
import { auth } from '../helpers/server';

/** A linearly separable 2-class CSV: label = pos when 2·x1 − x2 > 0 (seeded). */
export function lineCsv(n: number, seed = 1): string {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const rows = ['x1,x2,colour,label'];
  for (let i = 0; i < n; i++) {
    const a = rand() * 2 - 1;
    const b = rand() * 2 - 1;
    rows.push(
      `${a.toFixed(4)},${b.toFixed(4)},${rand() < 0.5 ? 'red' : 'blue'},${2 * a - b > 0 ? 'pos' : 'neg'}`,
    );
  }
  return `${rows.join('\n')}\n`;
}

export async function uploadDataset(app: FastifyInstance, name: string, body: string | Buffer) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/datasets?name=${name}`,
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    payload: body,
  });
}

export async function startTraining(app: FastifyInstance, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/api/v1/trainings', headers: auth, payload: body });
}

export type Job = {
  id: string;
  status: string;
  error: string | null;
  result: Record<string, unknown> | null;
};

/** Poll until the job leaves queued/running (or `until` holds); fails after `ms`. */
export async function waitFor(
  app: FastifyInstance,
  id: string,
  until: (j: Job) => boolean = (j) => !['queued', 'running'].includes(j.status),
  ms = 90_000,
): Promise<Job> {
  const deadline = Date.now() + ms;
  for (;;) {
    const j = (
      await app.inject({ method: 'GET', url: `/api/v1/trainings/${id}`, headers: auth })
    ).json() as Job;
    if (until(j)) return j;
    if (Date.now() > deadline) throw new Error(`training ${id} still ${j.status} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Poll `pick` every 25 ms until it returns something (not null/undefined); fails after `ms`. */
export async function pollUntil<T>(
  pick: () => Promise<T | null | undefined> | T | null | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await pick();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
