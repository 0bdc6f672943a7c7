/**
 * The floor under the serving-overhead benchmark: a bare fastify server (maas's HTTP framework,
 * no maas code) that answers `POST /v2/models/mlp/infer` by running the MLP in its own thread
 * with ONNX Runtime and writing the KServe v2 JSON answer. What latency.ts measures against it is
 * the cost of HTTP over loopback on this machine (client, kernel, thread wake-ups, fastify), which
 * no server can go under. Started by latency.ts with `fork`; sends its port when listening.
 */
import Fastify from 'fastify';
import { EngineSession } from '../../src/engine/runtime/session';
import { tensorFrom } from '../../src/engine/runtime/tensor';
import { mlpModel } from '../../test/helpers/onnx-fixtures';

interface V2Input {
  name: string;
  shape: number[];
  data: number[];
}

const session = await EngineSession.create(mlpModel(), { intraOpThreads: 1 });
const app = Fastify();
app.post<{ Body: { inputs: V2Input[] } }>('/v2/models/mlp/infer', async (req) => {
  const [x] = req.body.inputs;
  const out = await session.run({ [x.name]: tensorFrom('float32', x.shape, x.data) });
  return {
    model_name: 'mlp',
    outputs: Object.entries(out).map(([name, t]) => ({
      name,
      shape: t.dims,
      datatype: 'FP32',
      data: Array.from(t.data as Float32Array),
    })),
  };
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.send?.(typeof address === 'object' && address ? address.port : 0);
