// Adds up vitest's and Playwright's JSON reports into one closing line.
import { readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
const [vitestFile, playwrightFile] = process.argv.slice(2);

const vitest = JSON.parse(readFileSync(vitestFile, "utf8"));
passed += vitest.numPassedTests;
failed += vitest.numFailedTests;
skipped += vitest.numPendingTests + vitest.numTodoTests;

const playwright = JSON.parse(readFileSync(playwrightFile, "utf8"));
passed += playwright.stats.expected;
failed += playwright.stats.unexpected + playwright.stats.flaky;
skipped += playwright.stats.skipped;

process.stdout.write(`vitest: ${vitest.numPassedTests} passed; playwright: ${playwright.stats.expected} passed\n`);
process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 ? 1 : 0);
