/**
 * "Did you mean …" for a name that is not known: the known name it most likely
 * stands for, or undefined when none is close enough to be worth suggesting.
 * Used for unknown configuration keys and for extraSettings variables.
 */
export function didYouMean(name: string, known: Iterable<string>): string | undefined {
  const candidates = [...new Set(known)].filter((candidate) => candidate !== name);
  const lower = name.toLowerCase();
  const sameLetters = candidates.find((candidate) => candidate.toLowerCase() === lower);
  if (sameLetters !== undefined) return sameLetters;

  // A typo: a few edits apart (one per five characters, at most three: more and it is another name).
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 5)));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (Math.abs(candidate.length - name.length) > limit) continue;
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance || (distance === best.distance && candidate < best.candidate)))
      best = { candidate, distance };
  }
  if (best !== undefined) return best.candidate;

  // A word too many or too few (EDXAPP_CELERY_WORKERS_ENABLED for EDXAPP_CELERY_WORKERS): the known name
  // sharing the most words with it, in the same order, when it keeps all but one word of the shorter name.
  const words = lower.split("_").filter(Boolean);
  if (words.length < 2) return undefined;
  let bestWords: { candidate: string; shared: number; extra: number } | undefined;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase().split("_").filter(Boolean);
    if (other.length < 2) continue;
    const shared = commonSubsequenceLength(words, other);
    const shorter = Math.min(words.length, other.length);
    if (shared < 2 || shared < shorter - 1 || words[0] !== other[0]) continue;
    const extra = words.length + other.length - 2 * shared;
    if (
      bestWords === undefined ||
      shared > bestWords.shared ||
      (shared === bestWords.shared && extra < bestWords.extra) ||
      (shared === bestWords.shared && extra === bestWords.extra && candidate < bestWords.candidate)
    )
      bestWords = { candidate, shared, extra };
  }
  return bestWords?.candidate;
}

/** ` (did you mean "X"?)`, or "" when nothing is close. */
export function didYouMeanHint(name: string, known: Iterable<string>): string {
  const suggestion = didYouMean(name, known);
  return suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
    }
  return rows[a.length][b.length];
}

function commonSubsequenceLength(a: string[], b: string[]): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, () => Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      rows[i][j] = a[i - 1] === b[j - 1] ? rows[i - 1][j - 1] + 1 : Math.max(rows[i - 1][j], rows[i][j - 1]);
  return rows[a.length][b.length];
}
