/**
 * How memory text becomes search terms: lowercase words, English stop words dropped, and a
 * light suffix stripper so that `migrations`, `migrating` and `migrated` meet `migration`.
 * The same function serves the index and the query, so both sides always agree.
 */

// The query is a whole brief: without these, every entry that says "the" would match it.
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before ' +
    'being below between both but by can could did do does doing done down during each either ' +
    'else etc every few for from further get gets got had has have having he her here hers him ' +
    'his how i if in into is it its itself just let lets like make makes may me might more most ' +
    'must my no nor not now of off on once one only or other our ours out over own per please ' +
    'same shall she should so some such than that the their theirs them then there these they ' +
    'this those through to too under until up upon us use used uses using very via was we well ' +
    'were what when where which while who whom why will with within without would yet you your ' +
    'yours task tasks run runs work'
  ).split(' '),
);

/**
 * Strips common English inflections, conservatively: `tests`/`testing` → `test`,
 * `created`/`create` → `creat`, `migration`/`migrating` → `migrat`. Never below four letters,
 * so short words (`string`, `need`, `code`) stay as they are.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  let w = word;
  const cut = (n: number): string | undefined => (w.length - n >= 4 ? w.slice(0, -n) : undefined);
  if (w.endsWith('ies')) w = w.length > 5 ? `${w.slice(0, -3)}y` : w;
  else if (w.endsWith('ing')) w = undouble(cut(3) ?? w);
  else if (w.endsWith('ed')) w = undouble(cut(2) ?? w);
  else if (/(ss|sh|ch|x|z)es$/.test(w)) w = cut(2) ?? w;
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = cut(1) ?? w;
  if (w.endsWith('tion')) w = cut(3) ?? w;
  if (w.endsWith('e')) w = cut(1) ?? w;
  return w;
}

/** `running` → `runn` → `run`; `failed` stays `fail`. */
function undouble(w: string): string {
  return /([b-df-hj-np-tv-z])\1$/.test(w) && !/(ll|ss|zz)$/.test(w) ? w.slice(0, -1) : w;
}

/** A token as the index keeps it, or null when it carries no meaning for search. */
export function processTerm(term: string): string | null {
  const t = term.toLowerCase();
  if (t.length < 2 || STOP_WORDS.has(t)) return null;
  return stem(t);
}

/** Words and identifiers: split on anything that is not a letter, digit or underscore. */
export function tokenize(text: string): string[] {
  return text.split(/[^\p{L}\p{N}_]+/u).filter(Boolean);
}

/**
 * A query's distinct terms in order, at most `limit`: a long brief is cut, and the caller puts
 * what matters most (the task titles) first.
 */
export function queryTerms(text: string, limit = 96): string[] {
  const seen = new Set<string>();
  for (const token of tokenize(text)) {
    const t = processTerm(token);
    if (t !== null) seen.add(t);
    if (seen.size >= limit) break;
  }
  return [...seen];
}
