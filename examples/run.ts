/** `npm run example -- <name>`: runs one example from the table. */
import { main as edge } from './edge';
import { main as embeddings } from './embeddings';
import { main as mnist, mainCnn as mnistCnn } from './mnist';
import { main as seqSpeed } from './seq-speed';
import { main as speed } from './speed';
import { main as vision } from './vision';
import { main as xor } from './xor';

const examples: Record<string, () => Promise<void>> = {
  xor,
  mnist,
  'mnist-cnn': mnistCnn,
  speed,
  'seq-speed': seqSpeed,
  edge,
  embeddings,
  vision,
};

const name = process.argv[2] ?? '';
const run = examples[name];
if (!run) {
  console.error(`usage: npm run example -- <${Object.keys(examples).join('|')}>`);
  process.exitCode = 2;
} else {
  await run();
}
