/** `key=value` pairs typed into one field, separated by spaces or commas; a string names the first bad one. */
export function parsePairs(text: string): Record<string, string> | string {
  const pairs: Record<string, string> = {};
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const index = part.indexOf("=");
    if (index <= 0) return `“${part}” is not key=value`;
    pairs[part.slice(0, index)] = part.slice(index + 1);
  }
  return pairs;
}
