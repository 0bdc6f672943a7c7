/** Parsers and the row shape of the config table (config.ts, config-limits.ts). */
import { fail } from '../common/errors';

export type Parser<T> = (raw: string, key: string) => T;

export interface OptionSpec<T> {
  env: string;
  flag: string;
  default: T;
  parse: Parser<T>;
  doc: string;
  secret?: boolean;
}

export const int =
  (min: number, max: number): Parser<number> =>
  (raw, key) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      fail('invalid_request', `config ${key}: ${JSON.stringify(raw)} is not an integer in [${min}, ${max}]`);
    }
    return n;
  };
export const text: Parser<string> = (raw) => raw;
/** `auto`, or an integer in [min, max]. */
export const autoOrInt =
  (min: number, max: number): Parser<number | 'auto'> =>
  (raw, key) => {
    if (raw === 'auto') return 'auto';
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      fail(
        'invalid_request',
        `config ${key}: ${JSON.stringify(raw)} is not auto or an integer in [${min}, ${max}]`,
      );
    return n;
  };
/** One of a fixed list of words (a mode, a role, a format). */
export const oneOf =
  <T extends string>(values: readonly T[]): Parser<T> =>
  (raw, key) =>
    (values as readonly string[]).includes(raw)
      ? (raw as T)
      : fail('invalid_request', `config ${key}: ${JSON.stringify(raw)} is not one of ${values.join(', ')}`);
export const bool: Parser<boolean> = (raw, key) => {
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  return fail('invalid_request', `config ${key}: ${JSON.stringify(raw)} is not a boolean`);
};
export const optionalSecret: Parser<string | null> = (raw, key) => {
  if (raw.length < 16) fail('invalid_request', `config ${key}: a key needs at least 16 characters`);
  return raw;
};

export const MiB = 1024 * 1024;
