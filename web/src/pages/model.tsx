/**
 * One model: kind, signature, versions, aliases, lineage, quality and files from its metadata, the alias
 * form, and the playgrounds its kind can use (the best first).
 */
import { type FormEvent, useState } from 'react';
import type { ModelDetail, ModelVersion } from '../../../src/sdk/client';
import { useSession } from '../context';
import { useLoad } from '../hooks';
import { kindOf } from '../playgrounds/kinds';
import { PLAYGROUNDS, playgroundsFor } from '../playgrounds/registry';
import { goReplacing, href } from '../router';
import { allows } from '../session';
import { TabPanel, TabStrip } from '../tabs';
import { ErrorNote, Loading } from '../ui';
import { type Fact, fileFacts, lineageFacts, qualityFacts } from './model-facts';

export function ModelPage({ name, tab }: { name: string; tab?: string }) {
  const { client } = useSession().session;
  const model = useLoad(() => client.getModel(name), [client, name]);
  if (model.error) return <ErrorNote error={model.error} />;
  if (!model.data) return <Loading what={name} />;
  const m = model.data;
  const kind = kindOf(m);
  const tabs = playgroundsFor(kind);
  const current = tabs.find((t) => t === tab) ?? tabs[0];
  const Playground = PLAYGROUNDS[current].component;
  return (
    <section>
      <h1>
        {name} <span className="tag">{kind}</span>
        {m.public && <span className="tag">public</span>}
      </h1>
      {m.description && <p>{m.description}</p>}
      <TabStrip
        id="playground"
        label="Playgrounds"
        tabs={tabs.map((t) => ({ id: t, label: PLAYGROUNDS[t].label, href: href('models', name, t) }))}
        current={current}
        onPick={(t) => goReplacing('models', name, t)}
      />
      <TabPanel id="playground" current={current}>
        <Playground model={name} detail={m} />
      </TabPanel>
      <Overview m={m} onChange={model.reload} />
    </section>
  );
}

function Overview({ m, onChange }: { m: ModelDetail; onChange: () => void }) {
  const { me } = useSession().session;
  const latest = m.versions[m.versions.length - 1];
  return (
    <div className="grid2">
      <div className="card">
        <h2>Versions</h2>
        <table className="list">
          <thead>
            <tr>
              <th>Version</th>
              <th>Size</th>
              <th>Created</th>
              <th>Aliases</th>
            </tr>
          </thead>
          <tbody>
            {m.versions.map((v) => (
              <tr key={v.version}>
                <td>{v.version}</td>
                <td>{formatBytes(v.sizeBytes)}</td>
                <td>{new Date(v.createdAt).toLocaleString()}</td>
                <td>
                  {Object.entries(m.aliases)
                    .filter(([, n]) => n === v.version)
                    .map(([a]) => (
                      <span key={a} className="tag">
                        {a}
                      </span>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {allows(me, 'manage') && m.owner === me.tenant && (
          <AliasForm model={m.name} versions={m.versions} onDone={onChange} />
        )}
      </div>
      {latest && <VersionFacts v={latest} own={m.owner === me.tenant} />}
    </div>
  );
}

function VersionFacts({ v, own }: { v: ModelVersion; own: boolean }) {
  const meta = v.metadata ?? {};
  const lineage = lineageFacts(meta, own);
  const quality = qualityFacts(meta);
  const files = fileFacts(meta, formatBytes);
  return (
    <div className="card">
      <h2>Version {v.version}</h2>
      <h3>Signature</h3>
      <ul className="mono small">
        {v.signature.inputs.map((t) => (
          <li key={`in-${t.name}`}>
            in {t.name}: {t.dtype} [{t.shape.join(', ')}]
          </li>
        ))}
        {v.signature.outputs.map((t) => (
          <li key={`out-${t.name}`}>
            out {t.name}: {t.dtype} [{t.shape.join(', ')}]
          </li>
        ))}
      </ul>
      <FactList title="Lineage" facts={lineage} testId="lineage" />
      <FactList title="Quality" facts={quality} testId="quality" />
      <FactList title="Files" facts={files.slice(0, 50)} testId="files" />
      <p className="muted small mono">digest {v.digest.slice(0, 19)}…</p>
    </div>
  );
}

function FactList({ title, facts, testId }: { title: string; facts: Fact[]; testId: string }) {
  if (facts.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <dl className="small" data-testid={testId}>
        {facts.map((f) => (
          // Labels are cut at 120 characters, so two long file paths may share one: value too.
          <div key={`${f.label}\u0000${f.value}`}>
            <dt>{f.label}</dt>
            <dd>{f.link ? <a href={f.link}>{f.value}</a> : f.value}</dd>
          </div>
        ))}
      </dl>
    </>
  );
}

function AliasForm({
  model,
  versions,
  onDone,
}: {
  model: string;
  versions: ModelVersion[];
  onDone: () => void;
}) {
  const { client } = useSession().session;
  const [alias, setAlias] = useState('prod');
  const [version, setVersion] = useState(String(versions[versions.length - 1]?.version ?? 1));
  const [error, setError] = useState<unknown>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await client.setAlias(model, alias, Number(version));
      setError(undefined);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="row" onSubmit={submit} aria-label="Point an alias">
      <label>
        Alias <input value={alias} onChange={(e) => setAlias(e.target.value)} required />
      </label>
      <label>
        Version
        <select value={version} onChange={(e) => setVersion(e.target.value)}>
          {versions.map((v) => (
            <option key={v.version}>{v.version}</option>
          ))}
        </select>
      </label>
      <button type="submit">Point alias</button>
      <ErrorNote error={error} />
    </form>
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}
