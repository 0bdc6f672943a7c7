/**
 * What every reader yields: rows of named cells, each row carrying the place it came from so that
 * later stages (schema checks, featurizers) can still name the line or entry of a problem.
 */

/** A decoded image: `pixels` is row-major, interleaved channels (HWC), 0..255. */
export interface ImageCell {
  kind: 'image';
  width: number;
  height: number;
  /** 1 (gray), 3 (RGB) or 4 (RGBA). */
  channels: 1 | 3 | 4;
  pixels: Uint8Array;
}

/** `null` is a missing value. Text formats give strings; JSONL keeps its numbers. */
export type Cell = string | number | null | ImageCell;

export interface Row {
  /** Where the row came from, e.g. `line 12` or `entry "cats/1.png"`. */
  where: string;
  values: Record<string, Cell>;
}

export function isImageCell(value: Cell | undefined): value is ImageCell {
  return typeof value === 'object' && value !== null && value.kind === 'image';
}
