/**
 * The fenced code blocks of README.md and docs/*.md, with where they are and what the markdown says of
 * them in an HTML comment on the line before the opening fence: `<!-- not run: why -->` (nothing runs
 * it), or `<!-- in a browser: what -->` (it runs in a page of a gateway, not in Node).
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
  /** The text of an `<!-- in a browser: … -->` marker, if the block has one. */
  browser?: string;
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
    const marker = before >= 0 ? /^<!--\s*(not run|in a browser):\s*(.+?)\s*-->$/.exec(lines[before].trim()) : null;
    const said = marker ? { [marker[1] === 'not run' ? 'notRun' : 'browser']: marker[2] } : {};
    found.push({ file, line: i + 1, lang: open[2].toLowerCase(), code: lines.slice(i + 1, end).join('\n') + '\n', ...said });
    i = end;
  }
  return found;
}

export function allBlocks(repo: string): Block[] {
  return markdownFiles(repo).flatMap((f) => blocksOf(f, readFileSync(join(repo, f), 'utf8')));
}

/** `README.md:27` */
export const where = (b: Block) => `${b.file}:${b.line}`;
