import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasTool, missingToolLine, OPTIONAL_TOOLS, type OptionalTool, toolsRequired } from './tools.ts';

const testRoot = fileURLToPath(new URL('..', import.meta.url));
const projectRoot = join(testRoot, '..');

async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(path);
      return Promise.resolve(entry.name.endsWith('.test.ts') ? [path] : []);
    }),
  );
  return nested.flat();
}

/** The test files that call `skipWithout('<tool>')`, by tool. */
export async function filesNeedingTools(): Promise<Map<OptionalTool, string[]>> {
  const byTool = new Map<OptionalTool, string[]>();
  for (const file of (await testFiles(testRoot)).sort()) {
    const source = await readFile(file, 'utf8');
    for (const match of source.matchAll(/skipWithout\(\s*['"]([a-z][a-z0-9]*)['"]\s*\)/g)) {
      const tool = match[1] as OptionalTool;
      if (!(tool in OPTIONAL_TOOLS)) continue;
      const files = byTool.get(tool) ?? [];
      const name = relative(projectRoot, file);
      if (!files.includes(name)) files.push(name);
      byTool.set(tool, files);
    }
  }
  return byTool;
}

/**
 * Vitest's global setup: one line per missing Debian tool, naming the test files it skips and the
 * package to install; where tools are required (CI), the run stops here instead.
 */
export default async function setup(): Promise<void> {
  const byTool = await filesNeedingTools();
  const missing = [...byTool.entries()].filter(([tool]) => !hasTool(tool));
  if (missing.length === 0) return;
  const required = toolsRequired();
  const lines = missing.map(([tool, files]) => missingToolLine(tool, files, required));
  if (required) {
    throw new Error(
      `tools the tests need are missing, and tools are required here (CI, or FLEETKIT_REQUIRE_TOOLS=1):\n${lines.join('\n')}`,
    );
  }
  for (const line of lines) process.stdout.write(`${line}\n`);
}
