/**
 * The web console end to end, in a real Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real server on a socket: sign in, upload a model by the file picker,
 * stream a chat and a text completion, embed words (neighbours, PCA scatter), generate images,
 * move the CPPN explorer's sliders by keyboard, speak, draw a digit and see its heat map, upload a
 * dataset and read its schema and class balance, start a training and watch the loss and metric
 * charts gain points, create a tenant with limits, create a key for it and revoke it. The main
 * page fails the test on any console error, page error or failed request. A second page, phone
 * wide, checks that a wrong key, a revoked key (the session ends) and a 429 each show a clear
 * message.
 *
 * Screenshots go to a temp folder; with MAAS_CONSOLE_SCREENSHOTS=docs they replace those in
 * docs/images/console/ (how the docs' pictures are made).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable } from '../../src/models/tts/process';
import { createCppnModel } from '../../src/models/vision/cppn';
import { resnetLike } from '../engine/import-models';
import { REPO_ROOT } from '../helpers/serve';
import { ADMIN_KEY, auth, type TestServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { pushModel, taskServer } from '../tasks/fixtures/server';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const built = existsSync(join(REPO_ROOT, 'dist/web/index.html'));
const hasEspeak = (await findExecutable('espeak-ng', process.env.PATH)) !== null;

describe.skipIf(!hasChromium)('web console in Chromium', () => {
  let server: TestServer;
  let url: string;
  let browser: Browser;
  let page: Page;
  let shots: string;
  let work: { dir: string; remove: () => Promise<void> };
  /** Everything that went wrong on the main page. */
  const problems: string[] = [];

  beforeAll(async () => {
    if (!built) throw new Error('dist/web/index.html is missing: run `npm run build` (npm ci does it)');
    work = await tempDir('maas-console-');
    shots =
      process.env.MAAS_CONSOLE_SCREENSHOTS === 'docs' ? join(REPO_ROOT, 'docs/images/console') : work.dir;
    await mkdir(shots, { recursive: true });
    // bigram (text generation), cppn (images), bag (embeddings): the task tests' small models,
    // uploaded and labelled with their task as a user would; art: a real `cppn` family model.
    server = await taskServer(['bigram', 'cppn', 'bag']);
    for (const [model, task] of [
      ['bigram', 'text-generation'],
      ['cppn', 'image-generation'],
      ['bag', 'embeddings'],
    ]) {
      const res = await server.app.inject({
        method: 'PATCH',
        url: `/api/v1/models/${model}`,
        headers: auth,
        payload: { task },
      });
      expect(res.statusCode).toBe(200);
    }
    const art = createCppnModel({ seed: 3 });
    await pushModel(server, 'art', { onnx: art.onnx, metadata: { ...art.metadata } });
    url = await server.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => {
      // A stream the page closed itself (leaving the job page) is not a failure.
      if (!r.url().includes('/events')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await work?.remove();
  });

  const shot = (name: string, fullPage = false) =>
    page.screenshot({ path: join(shots, `${name}.png`), fullPage });
  const visit = async (hash: string) => {
    await page.goto(`${url}/${hash}`);
  };

  it('signs in with the admin key and shows its scopes, under a strict CSP', async () => {
    const res = await page.goto(url);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await shot('sign-in');
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Models' }).waitFor();
    await expect
      .poll(() => page.locator('.who .scope').allTextContents())
      .toEqual(['admin', 'manage', 'infer']);
    expect(
      await page.evaluate(() =>
        (
          globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }
        ).sessionStorage.getItem('maas.key'),
      ),
    ).toBe(ADMIN_KEY);
    expect(page.url()).not.toContain(ADMIN_KEY);
    await page.getByRole('link', { name: 'bigram' }).waitFor();
    await shot('catalog');
  });

  it('uploads a model with the file picker and lands on its page', async () => {
    const file = join(work.dir, 'digits.onnx');
    await writeFile(file, resnetLike());
    await visit('#/upload');
    await page.locator('input[type=file]').setInputFiles(file);
    expect(await page.getByLabel('Model name').inputValue()).toBe('digits');
    await shot('upload');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('heading', { name: /^digits/ }).waitFor();
    await expect.poll(() => page.locator('text=in image: float32').count()).toBe(1);
    // An uploaded graph gets the tensor form and explain only: no chat, no images.
    expect(await page.getByRole('tab').allTextContents()).toEqual([
      'Tensors (KServe v2)',
      'Classify & explain',
    ]);
  });

  it('streams a chat: tokens arrive, counts and tokens/s are shown, with the request as curl', async () => {
    await visit('#/models/bigram/chat');
    await page.getByLabel('Message').fill('the cat');
    await page.getByRole('button', { name: 'Send' }).click();
    // While streaming: text and a running tokens/s; at the end the server's token counts.
    const stats = () => page.getByTestId('chat-stats').textContent();
    await expect.poll(stats, { timeout: 60_000 }).toContain('tokens/s');
    await expect.poll(stats, { timeout: 60_000 }).toMatch(/completion \d+ tokens/);
    expect((await page.getByTestId('chat-answer').textContent())?.length).toBeGreaterThan(0);
    expect(await page.locator('pre.code').textContent()).toContain('/v1/chat/completions');
    await shot('chat');
  });

  it('streams a text completion; a text model has chat and completion tabs, no image ones', async () => {
    await visit('#/models/bigram/completion');
    expect(await page.getByRole('tab').allTextContents()).toEqual([
      'Chat',
      'Text completion',
      'Tensors (KServe v2)',
    ]);
    await page.getByLabel('Prompt').fill('the dog');
    await page.getByRole('button', { name: 'Complete' }).click();
    await expect
      .poll(() => page.getByTestId('completion-stats').textContent(), { timeout: 60_000 })
      .toMatch(/completion \d+ tokens/);
    expect((await page.getByTestId('completion').textContent())?.length).toBeGreaterThan('the dog'.length);
    await shot('completion');
    // The keyboard: the selected tab is the one Tab stop; arrows move along the strip and open the tab.
    const selected = page.getByRole('tab', { selected: true });
    await selected.focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.url()).toContain('#/models/bigram/tensors');
    await expect.poll(() => page.locator(':focus').textContent()).toBe('Tensors (KServe v2)');
    await page.keyboard.press('Home');
    await expect.poll(() => page.url()).toContain('#/models/bigram/chat');
    expect(await page.getByRole('tab', { selected: true }).getAttribute('tabindex')).toBe('0');
    expect(await page.locator('[role=tab][tabindex="-1"]').count()).toBe(2);
    await page.getByRole('tabpanel', { name: 'Chat' }).waitFor();
  });

  it('embeds a word list: neighbours per word and a PCA scatter with a point per word', async () => {
    await visit('#/models/bag/embeddings');
    await page.getByLabel('Words').fill('cat, dog, bird, car, truck, train');
    await page.getByRole('button', { name: 'Embed' }).click();
    const rows = page.getByTestId('neighbours').locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(6);
    expect(await rows.first().locator('td').nth(1).textContent()).toMatch(/^\w+ -?\d\.\d\d · /);
    expect(await page.getByRole('img', { name: '2-D projection (PCA)' }).getAttribute('data-points')).toBe(
      '6',
    );
    await shot('embeddings');
  });

  it('the CPPN explorer redraws as its sliders move (by keyboard) and its palette changes', async () => {
    await visit('#/models/art/cppn');
    const art = page.getByTestId('cppn-art');
    const renders = () => art.getAttribute('data-renders').then(Number);
    await expect.poll(renders, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    const first = await art.locator('img').getAttribute('src');
    const seed = page.getByRole('slider', { name: 'Seed' });
    await seed.focus();
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    await expect.poll(() => art.locator('img').getAttribute('alt'), { timeout: 30_000 }).toContain('seed 4');
    expect(await art.locator('img').getAttribute('src')).not.toBe(first);
    await page.getByRole('slider', { name: 'Zoom' }).focus();
    for (let i = 0; i < 20; i++) await page.keyboard.press('ArrowRight');
    await page.getByLabel('Palette').selectOption('neon');
    await expect
      .poll(() => art.locator('img').getAttribute('alt'), { timeout: 30_000 })
      .toContain('zoom 1.58, neon');
    await shot('cppn-explorer');
  });

  it.skipIf(!hasEspeak)('speaks a text with a chosen speed into an audio player', async () => {
    await visit('#/models');
    await page.getByRole('link', { name: 'tts', exact: true }).click();
    await page.getByRole('heading', { name: /^tts/ }).waitFor();
    await page.getByRole('slider', { name: 'Speed' }).fill('1.5');
    await page.getByRole('button', { name: 'Speak' }).click();
    const audio = page.getByTestId('speech-audio');
    await audio.waitFor({ timeout: 30_000 });
    await expect
      .poll(() => audio.evaluate((a) => (a as unknown as { duration: number }).duration), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await shot('speech');
  });

  it('uploads a dataset with the file picker, shows its schema and class balance, trains from it', async () => {
    const file = join(work.dir, 'fruit.csv');
    const rows = ['weight,colour,label'];
    for (let i = 0; i < 40; i++)
      rows.push(`${100 + i},${i % 3 ? 'red' : 'green'},${i % 4 ? 'apple' : 'pear'}`);
    await writeFile(file, `${rows.join('\n')}\n`);
    await visit('#/datasets');
    await page.getByLabel('Dataset file').setInputFiles(file);
    expect(await page.getByLabel('Dataset name').inputValue()).toBe('fruit');
    await page.getByRole('button', { name: 'Upload dataset' }).click();
    await page.getByRole('heading', { name: /^fruit/ }).waitFor();
    await expect.poll(() => page.getByTestId('schema').locator('tbody tr').count()).toBe(3);
    expect(await page.getByTestId('class-balance').locator('li').allTextContents()).toEqual([
      'apple30 (75%)',
      'pear10 (25%)',
    ]);
    await shot('dataset');
    await page.getByRole('link', { name: 'Train a model on fruit' }).click();
    const form = page.getByRole('form', { name: 'Start a training' });
    await expect.poll(() => form.getByLabel('Dataset').inputValue()).toBe('fruit');
  });

  it('generates a grid of images', async () => {
    await visit('#/models/cppn/image');
    await page.getByRole('button', { name: 'Generate' }).click();
    const images = page.getByTestId('image-grid').locator('img');
    await expect.poll(() => images.count(), { timeout: 30_000 }).toBe(4);
    const widths = await images.evaluateAll((els) =>
      els.map((e) => (e as unknown as { naturalWidth: number }).naturalWidth),
    );
    expect(widths).toEqual([96, 96, 96, 96]);
    await shot('image-generation');
  });

  it('explains a drawn digit with a heat map', async () => {
    await visit('#/models/digits/classify');
    const pad = page.getByTestId('draw-pad');
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8, { steps: 10 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Classify and explain' }).click();
    const heat = page.locator('img.heatmap');
    await heat.waitFor({ timeout: 30_000 });
    expect(
      await heat.evaluate((e) => (e as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(0);
    expect(await page.locator('.bars li').count()).toBe(3);
    await shot('explain');
  });

  it('starts a training and watches the loss chart gain points until it succeeds', async () => {
    await visit('#/training');
    const form = page.getByRole('form', { name: 'Start a training' });
    await form.getByLabel('Family').selectOption('mlp');
    await form.getByLabel('Dataset').selectOption('xor');
    await form.getByLabel('Model name').fill('xor-net');
    await form.locator('summary').click();
    // The family's defaults are filled in; a value out of the API's range is named and blocks the submit.
    expect(await form.locator('input[name=epochs]').inputValue()).toBe('5');
    expect(await form.locator('input[name=epochs]').getAttribute('max')).toBe('1000');
    await form.locator('input[name=epochs]').fill('5000');
    await form.getByText('epochs must be a whole number from 1 to 1000').first().waitFor();
    expect(await form.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    await shot('training-invalid');
    await form.locator('input[name=epochs]').fill('150');
    expect(await form.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(false);
    await shot('training');
    await form.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('heading', { name: /Training xor-net/ }).waitFor();
    const points = (chart: string) =>
      page.getByRole('img', { name: chart }).getAttribute('data-points').then(Number);
    await expect.poll(() => points('Loss'), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator('h1 .tag').textContent(), { timeout: 90_000 }).toBe('succeeded');
    await page.getByRole('link', { name: 'xor-net version 1' }).waitFor();
    // The validation accuracy of each epoch, and the checkpoint written at each epoch end.
    expect(await points('Metrics')).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('checkpoints').locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('canvas').count()).toBeGreaterThan(1);
    await shot('training-job');
    // The new version's page names where it came from, with links back, and its figures.
    await page.getByRole('link', { name: 'xor-net version 1' }).click();
    const lineage = page.getByTestId('lineage');
    await lineage.waitFor();
    expect(await lineage.getByRole('link', { name: 'xor' }).getAttribute('href')).toBe('#/datasets/xor');
    expect(await lineage.getByRole('link', { name: /^trn_/ }).count()).toBe(1);
    expect(await page.getByTestId('quality').locator('dt').allTextContents()).toContain('accuracy');
  }, 150_000);

  it('creates a tenant with rate, quota, weight and concurrency limits', async () => {
    await visit('#/tenants');
    const form = page.getByRole('form', { name: 'Create a tenant' });
    await form.getByLabel('Tenant name').fill('acme');
    await form.getByLabel('Requests / minute').fill('600');
    await form.getByLabel('Weight').fill('3');
    await form.getByLabel('Concurrency').fill('2');
    await form.getByRole('button', { name: 'Create tenant' }).click();
    const row = page.getByTestId('tenants').locator('tr', { hasText: 'acme' });
    await expect
      .poll(() => row.locator('td').nth(1).textContent())
      .toBe('600 requests / minute · 3 weight · 2 concurrency');
    await shot('tenants');
  });

  it("changes that tenant's limits after it was made", async () => {
    await visit('#/tenants');
    const form = page.getByRole('form', { name: "Change a tenant's limits" });
    await form.getByLabel('Tenant').selectOption('acme');
    await expect.poll(() => form.getByLabel('Weight').inputValue()).toBe('3');
    await form.getByLabel('Requests / minute').fill('1200');
    await form.getByLabel('Concurrency').fill('');
    await form.getByRole('button', { name: 'Save limits' }).click();
    await expect.poll(() => form.getByRole('status').textContent()).toContain('acme');
    const row = page.getByTestId('tenants').locator('tr', { hasText: 'acme' });
    await expect.poll(() => row.locator('td').nth(1).textContent()).toBe('1200 requests / minute · 3 weight');
  });

  it('creates a key for that tenant with its own limit (shown once) and revokes it', async () => {
    await visit('#/keys');
    await page.getByLabel('Name', { exact: true }).fill('console-test');
    await page.getByLabel('Tenant').selectOption('acme');
    await page.getByLabel('Requests / minute').fill('60');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByTestId('new-key').textContent();
    expect(secret?.length).toBeGreaterThan(20);
    const row = page.locator('tr', { hasText: 'console-test' });
    await expect.poll(() => row.locator('td').nth(3).textContent()).toBe('60 requests / minute');
    expect(await row.locator('td').first().textContent()).toBe('console-testacme');
    await shot('keys');
    await page.getByRole('button', { name: 'Revoke console-test' }).click();
    await expect
      .poll(() => page.locator('tr', { hasText: 'console-test' }).locator('.tag').textContent())
      .toBe('revoked');
  });

  it('shows usage by day, model and key, and the audit log filtered by action', async () => {
    await visit('#/usage');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await expect.poll(() => page.locator('td', { hasText: 'bigram' }).count()).toBeGreaterThan(0);
    await page.getByLabel('Action').fill('key.revoke');
    await page.getByRole('button', { name: 'Filter' }).click();
    const actions = () => page.getByTestId('audit').locator('tbody tr td:nth-child(2)').allTextContents();
    await expect.poll(actions).toEqual(['key.revoke']);
    // By model and by key: uPlot bar charts drawn on a canvas, a bar group per row of the table below.
    const byModel = page.getByRole('img', { name: /^Requests and units by model/ });
    expect(Number(await byModel.getAttribute('data-bars'))).toBeGreaterThan(0);
    expect(await byModel.locator('canvas').count()).toBe(1);
    expect(
      await page
        .getByRole('img', { name: /^Requests and units by key/ })
        .locator('canvas')
        .count(),
    ).toBe(1);
    // The whole page: the chart by day above, the filtered audit log below.
    await shot('usage', true);
    // Phone wide: the charts fit the screen.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.reload();
    await byModel.locator('canvas').waitFor();
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
            .documentElement.scrollWidth,
      ),
    ).toBeLessThanOrEqual(390);
    await byModel.scrollIntoViewIfNeeded();
    await shot('phone-usage');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('had no console error and no failed request on the main page', () => {
    expect(problems).toEqual([]);
  });

  it('a wrong key, a revoked key and a 429 each show a clear message', { timeout: 90_000 }, async () => {
    const other = await browser.newPage({ viewport: { width: 390, height: 800 } });
    try {
      await other.goto(url);
      await other.getByLabel('API key').fill('not-a-key');
      await other.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => other.getByRole('alert').textContent()).toContain('The key was not accepted');

      // A key limited to 1 model call a minute: the second image generation is refused.
      const made = await server.app.inject({
        method: 'POST',
        url: '/api/v1/keys',
        headers: auth,
        payload: { name: 'tight', scopes: ['infer'], limits: { requestsPerMinute: 1 } },
      });
      const tight = made.json() as { id: string; key: string };
      await other.getByLabel('API key').fill(tight.key);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('heading', { name: 'Models' }).waitFor();
      expect(await other.getByRole('link', { name: 'Upload' }).count(), 'infer keys see no upload').toBe(0);
      expect(await other.getByRole('link', { name: 'Tenants' }).count(), 'nor tenants').toBe(0);
      await other.getByRole('link', { name: 'bigram' }).waitFor();
      // Phone wide: nothing sticks out sideways (wide tables scroll inside their box).
      expect(
        await other.evaluate(
          () =>
            (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document
              .documentElement.scrollWidth,
        ),
      ).toBeLessThanOrEqual(390);
      await other.screenshot({ path: join(shots, 'phone-catalog.png'), fullPage: true });
      await other.goto(`${url}/#/models/cppn/image`);
      const generate = other.getByRole('button', { name: 'Generate' });
      await generate.click();
      await other.getByTestId('image-grid').locator('img').first().waitFor();
      await generate.click();
      await expect.poll(() => other.getByRole('alert').textContent()).toContain('Too many requests');
      await other.screenshot({ path: join(shots, 'rate-limited.png') });

      // Revoked while signed in: the next load ends the session and says why.
      await server.app.inject({ method: 'DELETE', url: `/api/v1/keys/${tight.id}`, headers: auth });
      await other.reload();
      await expect.poll(() => other.getByRole('alert').textContent()).toContain('Your session ended');
      await other.screenshot({ path: join(shots, 'session-ended.png') });
    } catch (e) {
      // What the page showed, for the failure message.
      throw new Error(
        `${(e as Error).message}\npage text: ${(await other.locator('body').textContent())?.slice(0, 500)}`,
      );
    } finally {
      await other.close();
    }
  });
});
