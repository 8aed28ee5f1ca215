/**
 * preprocessor.json: the fitted feature pipeline and label encoding of one
 * model version. Training writes it, evaluation and serving read it and apply
 * it exactly as training did.
 */
import type { ColumnTable } from '../data/columns';
import type { RowSelection } from './cells';
import { encodeTableLabels, type FittedLabels } from './labels';
import { assertPreprocessor, transformTable, type FittedPreprocessor } from './preprocessor';

export interface PreprocessorArtifact {
  preprocessor: FittedPreprocessor;
  labels: FittedLabels;
}

export function serializePreprocessorArtifact(artifact: PreprocessorArtifact): Buffer {
  return Buffer.from(JSON.stringify(artifact, null, 2) + '\n');
}

/** Reads preprocessor.json back; `source` (a key or path) names it in errors. */
export function parsePreprocessorArtifact(bytes: Buffer | string, source: string): PreprocessorArtifact {
  let value: Partial<PreprocessorArtifact>;
  try {
    value = JSON.parse(bytes.toString()) as Partial<PreprocessorArtifact>;
  } catch (error) {
    throw new Error(`${source} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  try {
    assertPreprocessor(value.preprocessor);
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`, { cause: error });
  }
  const labels = value.labels;
  if (!labels || (labels.kind !== 'classification' && labels.kind !== 'regression')) {
    throw new Error(`${source}: no label encoding (labels.kind must be 'classification' or 'regression')`);
  }
  return { preprocessor: value.preprocessor, labels };
}

/** Features and labels of rows of a table (`rows`, default all) as the model sees them (missing or unseen values imputed, never a crash). */
export function encodeTable(artifact: PreprocessorArtifact, table: ColumnTable, rows?: RowSelection) {
  const { x, cols } = transformTable(artifact.preprocessor, table, { rows, invalidValues: 'impute', absentColumns: 'impute' });
  const y = encodeTableLabels(artifact.labels, table, rows);
  return { x, rows: y.length, cols, y };
}
