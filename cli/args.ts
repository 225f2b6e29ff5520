import { CliError } from "./http";

/** Repeated `KEY=VALUE` flags (`--label`, `--env`, `--selector`) as an object; a bad one stops the command. */
export function keyValues(values: string[] = [], flag: string): Record<string, string> {
  return Object.fromEntries(
    values.map((pair) => {
      const index = pair.indexOf("=");
      if (index <= 0) throw new CliError(`${flag} takes KEY=VALUE, got ${JSON.stringify(pair)}`, 2);
      return [pair.slice(0, index), pair.slice(index + 1)];
    }),
  );
}
