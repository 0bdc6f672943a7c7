/** A black square to draw a digit on with the mouse, a finger or a dropped image. */
import { type PointerEvent, useEffect, useRef } from 'react';

const SIZE = 224;

export function DrawPad({ onCanvas }: { onCanvas: (c: HTMLCanvasElement) => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const clear = () => {
    const g = ref.current?.getContext('2d');
    if (!g) return;
    g.fillStyle = '#000';
    g.fillRect(0, 0, SIZE, SIZE);
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, when the canvas exists
  useEffect(() => {
    clear();
    if (ref.current) onCanvas(ref.current);
  }, []);
  const point = (e: PointerEvent<HTMLCanvasElement>) => {
    const c = ref.current;
    const g = c?.getContext('2d');
    if (!c || !g || !drawing.current) return;
    const r = c.getBoundingClientRect();
    g.fillStyle = '#fff';
    g.beginPath();
    g.arc(
      ((e.clientX - r.left) * SIZE) / r.width,
      ((e.clientY - r.top) * SIZE) / r.height,
      12,
      0,
      Math.PI * 2,
    );
    g.fill();
  };
  const drop = (file: File) => {
    const img = new Image();
    img.onload = () => {
      ref.current?.getContext('2d')?.drawImage(img, 0, 0, SIZE, SIZE);
      URL.revokeObjectURL(img.src);
    };
    img.src = URL.createObjectURL(file);
  };
  return (
    <div>
      <canvas
        ref={ref}
        width={SIZE}
        height={SIZE}
        className="pad"
        aria-label="Drawing pad: draw a digit, or drop an image here"
        data-testid="draw-pad"
        onPointerDown={(e) => {
          drawing.current = true;
          point(e);
        }}
        onPointerMove={point}
        onPointerUp={() => {
          drawing.current = false;
        }}
        onPointerLeave={() => {
          drawing.current = false;
        }}
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          const f = e.dataTransfer.files[0];
          if (f) drop(f);
        }}
      />
      <div className="row">
        <button type="button" onClick={clear}>
          Clear
        </button>
        <label>
          or pick an image{' '}
          <input
            type="file"
            accept="image/*"
            onChange={(e) => e.target.files?.[0] && drop(e.target.files[0])}
          />
        </label>
      </div>
    </div>
  );
}
