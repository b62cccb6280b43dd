/** Inline code that survives any backticks in the text (values come from pull requests). */
export function inlineCode(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") || longest > 0 ? " " : "";
  return `${fence}${pad}${text.replace(/\r?\n/g, "⏎")}${pad}${fence}`;
}
