/**
 * A small ResNet-style CNN written the way PyTorch's exporter writes one (opset 13, conv-BN-ReLU,
 * a residual block, max-pool, global average pool, `x.view(x.size(0), -1)` as Shape → Gather →
 * Unsqueeze → Concat → Reshape, Linear, softmax; a dynamic batch dim), with random weights: the
 * importer tests' model (test/engine/import-models.ts), for the walk-through of
 * docs/explanations.md, where no PyTorch is needed.
 *
 *   node --import tsx examples/resnet-like.ts resnet.onnx
 */
import { writeFile } from 'node:fs/promises';
import { resnetLike } from '../test/engine/import-models';

const file = process.argv[2] ?? 'resnet.onnx';
const bytes = resnetLike();
await writeFile(file, bytes);
console.log(`wrote ${file} (${bytes.length} bytes): image [batch, 1, 8, 8] → logits, probs [batch, 3]`);
