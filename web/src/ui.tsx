/** Small shared pieces: the error line, a progress bar, a copy button, a file drop zone. */
import { useState } from 'react';
import { useSession } from './context';
import { explainError, isSignedOut } from './errors';

export function ErrorNote({ error }: { error: unknown }) {
  const { signOut } = useSession();
  if (error === undefined || error === null) return null;
  const text = explainError(error);
  return (
    <p className="error" role="alert">
      {text}{' '}
      {isSignedOut(error) && (
        <button type="button" onClick={() => signOut(text)}>
          Sign in again
        </button>
      )}
    </p>
  );
}

export function Progress({ value, label }: { value: number; label: string }) {
  return (
    <div className="progress-row">
      <progress max={1} value={value} aria-label={label} />
      <span>{Math.round(value * 100)}%</span>
    </div>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      onClick={() => {
        navigator.clipboard?.writeText(text).then(
          () => setDone(true),
          () => setDone(false),
        );
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="muted">Loading {what}…</p>;
}

/** A drop zone that is also a file picker: shows the chosen file, or `prompt` until there is one. */
export function FileDrop({
  file,
  onPick,
  prompt,
  describe,
  accept,
  inputLabel,
}: {
  file: File | null;
  onPick: (file: File) => void;
  prompt: string;
  describe: (file: File) => string;
  accept?: string;
  inputLabel?: string;
}) {
  const [over, setOver] = useState(false);
  const pick = (f: File | undefined) => {
    if (f) onPick(f);
  };
  return (
    <label
      className={`drop ${over ? 'over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        pick(e.dataTransfer.files[0]);
      }}
    >
      {file ? describe(file) : prompt}
      <input
        type="file"
        accept={accept}
        aria-label={inputLabel}
        onChange={(e) => pick(e.target.files?.[0])}
      />
    </label>
  );
}
