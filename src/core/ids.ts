import { randomBytes } from './random.ts';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A random id in lowercase Crockford base32: short prefixes are unambiguous in practice. */
export function randomId(length = 12): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(bytes[i] ?? 0) & 31];
  return out;
}

/** How run ids are shown: long enough to be unique among thousands of runs. */
export const shortId = (id: string): string => id.slice(0, 8);
