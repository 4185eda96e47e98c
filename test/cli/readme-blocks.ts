import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CodeBlock {
  /** The fence's info string: `sh`, `js`, … */
  language: string;
  /** The code, with the list indentation it was written at taken off. */
  code: string;
}

const ROOT = join(__dirname, '..', '..');
/** Where the README sections are drafted before they are merged into README.md. */
const DRAFT = join(ROOT, '..', 'notes', 'readme-first-notification.md');

/**
 * The fenced code blocks between `<!-- NAME:begin -->` and `<!-- NAME:end -->`: from README.md
 * when it holds them, else from the draft the README was written from.
 */
export function readmeBlocks(name: string): { file: string; blocks: CodeBlock[] } {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const candidates = [join(ROOT, 'README.md'), DRAFT].filter((file) => existsSync(file));
  for (const file of candidates) {
    const text = readFileSync(file, 'utf8');
    const start = text.indexOf(begin);
    const stop = text.indexOf(end, start);
    if (start === -1 || stop === -1) continue;
    return { file, blocks: codeBlocks(text.slice(start + begin.length, stop)) };
  }
  throw new Error(`README.md has no section between ${begin} and ${end}`);
}

export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const fence = /^( *)```(\w*)\n([\s\S]*?)^\1```[ \t]*$/gm;
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1].length;
    const code = match[3]
      .split('\n')
      .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
      .join('\n');
    blocks.push({ language: match[2], code: code.replace(/\n+$/, '') });
  }
  return blocks;
}
