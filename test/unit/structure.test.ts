/**
 * The layout DESIGN.md describes, checked from the code's own imports:
 * - dependencies point down: only the programs (CLI, worker, the client code
 *   that starts workflows) import from workflows/ and activities/; the library
 *   folders of src/ never import a program;
 * - workflows/ stay deterministic: what they import at run time (not types)
 *   reaches no Node module and no package but Temporal's workflow API;
 * - no import cycles, type imports included.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Files that start or run workflows: allowed to import workflows/ and activities/. */
const PROGRAMS = [/^src\/cli\//, /^src\/worker\//, /^src\/temporal\/start-retrain\.ts$/, /^src\/temporal\/index\.ts$/];
/** Packages a workflow may load at run time. */
const WORKFLOW_PACKAGES = new Set(['@temporalio/workflow', '@temporalio/common']);

interface Import {
  specifier: string;
  /** Resolved project file (relative to the root), when the import names one. */
  file?: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) for (const file of sourceFiles(path)) out.push(file);
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function resolveFile(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(ROOT, dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return relative(ROOT, candidate);
    } catch {
      // not this one
    }
  }
  return undefined;
}

function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, false);
  const out: Import[] = [];
  const add = (specifier: string, typeOnly: boolean) => out.push({ specifier, file: resolveFile(file, specifier), typeOnly });
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly = !!clause && (clause.isTypeOnly || (!clause.name && !!named && named.length > 0 && named.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false); // a lazy import() is still a dependency
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const files = ['src', 'workflows', 'activities'].flatMap(sourceFiles).sort();
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const isProgram = (file: string) => PROGRAMS.some((p) => p.test(file));
const isLibrary = (file: string) => file.startsWith('src/') && !isProgram(file);

describe('the layout of the code', () => {
  it('reads every source file and resolves its relative imports', () => {
    expect(files.length).toBeGreaterThan(50);
    const unresolved = [...graph].flatMap(([file, imports]) =>
      imports.filter((i) => i.specifier.startsWith('.') && !i.file).map((i) => `${file} -> ${i.specifier}`),
    );
    expect(unresolved).toEqual([]);
  });

  it('only the programs import from workflows/ and activities/; the library never imports a program', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      if (!isLibrary(file)) continue;
      for (const i of imports) {
        if (i.file && (i.file.startsWith('workflows/') || i.file.startsWith('activities/') || isProgram(i.file))) upward.push(`${file} -> ${i.file}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('activities never import workflows, and workflows import activities for their types only', () => {
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      for (const i of imports) {
        if (file.startsWith('activities/') && i.file?.startsWith('workflows/')) wrong.push(`${file} -> ${i.file}`);
        if (file.startsWith('workflows/') && i.file?.startsWith('activities/') && !i.typeOnly) wrong.push(`${file} -> ${i.file} (a value import)`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('what workflows load at run time reaches no Node module and no package but the workflow API', () => {
    const offending: string[] = [];
    const seen = new Set<string>();
    const walk = (file: string, path: string[]) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const i of graph.get(file) ?? importsOf(file)) {
        if (i.typeOnly) continue;
        if (i.file) walk(i.file, [...path, i.file]);
        else if (!WORKFLOW_PACKAGES.has(i.specifier)) offending.push(`${[...path, i.specifier].join(' -> ')}`);
      }
    };
    for (const file of files.filter((f) => f.startsWith('workflows/'))) walk(file, [file]);
    expect(offending).toEqual([]);
    // The pure modules workflows share with the rest really are reached (the walk is not vacuous).
    expect([...seen]).toEqual(expect.arrayContaining(['src/errors.ts', 'src/store/keys.ts', 'src/temporal/task-queues.ts']));
  });

  it('has no import cycles, type imports included', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const i of graph.get(file) ?? []) {
        if (!i.file || !graph.has(i.file)) continue;
        if (state.get(i.file) === 'open') cycles.push([...stack.slice(stack.indexOf(i.file)), i.file].join(' -> '));
        else if (!state.has(i.file)) visit(i.file);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
