/** Upload a model: drop an .onnx file or a folder archive, watch the progress, land on its page. */
import { type FormEvent, useState } from 'react';
import { useSession } from '../context';
import { go } from '../router';
import { ErrorNote, FileDrop, Progress } from '../ui';

export function Upload() {
  const { client } = useSession().session;
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>();
  const pick = (f: File) => {
    setFile(f);
    if (!name) setName(f.name.replace(/\.(onnx|tar\.gz|tgz|tar|zip)$/i, '').replace(/[^a-zA-Z0-9_.-]/g, '-'));
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setError(undefined);
    setProgress(0);
    try {
      await client.uploadModel(name, file, setProgress);
      go('models', name);
    } catch (err) {
      setError(err);
      setProgress(null);
    }
  };
  return (
    <section>
      <h1>Upload a model</h1>
      <form className="card" onSubmit={submit} aria-label="Upload a model">
        <FileDrop
          file={file}
          onPick={pick}
          prompt="Drop an .onnx file or a model folder archive (.tar.gz, .zip) here, or choose one"
          describe={(f) => `${f.name} (${f.size} bytes)`}
          accept=".onnx,.gz,.tgz,.tar,.zip"
        />
        <label>
          Model name{' '}
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
          />
        </label>
        <button type="submit" disabled={!file || progress !== null}>
          Upload
        </button>
        {progress !== null && <Progress value={progress} label="upload" />}
        <ErrorNote error={error} />
      </form>
    </section>
  );
}
