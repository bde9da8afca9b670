/**
 * The fenced code blocks of README.md and docs/*.md, with where they are and whether the markdown says
 * not to run them: an HTML comment `<!-- not run: why -->` on the line before the opening fence.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Block {
  /** README.md or docs/<name>.md. */
  file: string;
  /** Line of the opening fence, from 1. */
  line: number;
  /** The fence's language (ts, js, sh, json, html…), '' when none. */
  lang: string;
  code: string;
  /** The reason given by a `<!-- not run: … -->` marker, if the block has one. */
  notRun?: string;
}

/** The markdown files whose blocks are tested. */
export function markdownFiles(repo: string): string[] {
  const docs = readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', ...docs.map((f) => `docs/${f}`)];
}

export function blocksOf(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end].startsWith(open[1])) end++;
    let before = i - 1;
    while (before >= 0 && lines[before].trim() === '') before--;
    const marker = before >= 0 ? /^<!--\s*not run:\s*(.+?)\s*-->$/.exec(lines[before].trim()) : null;
    found.push({ file, line: i + 1, lang: open[2].toLowerCase(), code: lines.slice(i + 1, end).join('\n') + '\n', ...(marker ? { notRun: marker[1] } : {}) });
    i = end;
  }
  return found;
}

export function allBlocks(repo: string): Block[] {
  return markdownFiles(repo).flatMap((f) => blocksOf(f, readFileSync(join(repo, f), 'utf8')));
}

/** `README.md:27` */
export const where = (b: Block) => `${b.file}:${b.line}`;
