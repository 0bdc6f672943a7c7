/**
 * The web console end to end, in a real Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real server on a socket: sign in, upload a model by the file picker,
 * stream a chat, generate images, draw a digit and see its heat map, start a training and watch
 * the loss chart gain points, create and revoke a key. The main page fails the test on any
 * console error, page error or failed request. A second page checks that a wrong key, a revoked
 * key (the session ends) and a 429 each show a clear message.
 *
 * Screenshots go to a temp folder; with MAAS_CONSOLE_SCREENSHOTS=docs they replace those in
 * docs/images/console/ (how the docs' pictures are made).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resnetLike } from '../engine/import-models';
import { REPO_ROOT } from '../helpers/serve';
import { ADMIN_KEY, auth, type TestServer } from '../helpers/server';
import { tempDir } from '../helpers/tmp';
import { taskServer } from '../tasks/fixtures/server';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const built = existsSync(join(REPO_ROOT, 'dist/web/index.html'));

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
    // bigram (text generation), cppn (images): the task tests' small models, uploaded.
    server = await taskServer(['bigram', 'cppn']);
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

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
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
    await form.locator('input[name=epochs]').fill('150');
    await shot('training');
    await form.getByRole('button', { name: 'Start training' }).click();
    await page.getByRole('heading', { name: /Training xor-net/ }).waitFor();
    const points = () => page.locator('.chart').getAttribute('data-points').then(Number);
    await expect.poll(points, { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(() => page.locator('h1 .tag').textContent(), { timeout: 90_000 }).toBe('succeeded');
    await page.getByRole('link', { name: 'xor-net' }).waitFor();
    expect(await page.locator('canvas').count()).toBeGreaterThan(0);
    await shot('training-job');
  }, 150_000);

  it('creates a key (shown once) and revokes it', async () => {
    await visit('#/keys');
    await page.getByLabel('Name').fill('console-test');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByTestId('new-key').textContent();
    expect(secret?.length).toBeGreaterThan(20);
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
    await shot('usage');
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
