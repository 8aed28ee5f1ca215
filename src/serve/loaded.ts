/**
 * One version ready to answer: its bundle read through the registry (every
 * artifact checked against its lineage sha256 before anything is parsed), the
 * tfjs model loaded, and a warm-up row scored, so a version that will not run
 * is refused before it takes traffic. Scoring encodes the rows with the saved
 * preprocessor exactly as the evaluate stage does (src/model/tasks.ts
 * scoreTable: tableEncoder with the same options, then predict), so the
 * server's answers on the holdout rows are the evaluate stage's.
 */
import type { ColumnTable } from '../data/columns';
import { loadModel, modelShape, predict, type LayersModel, type Tf } from '../model';
import { argmaxRows } from '../metrics/classification';
import { decodeClasses, decodeRegression, tableEncoder, type PreprocessorArtifact } from '../preprocess';
import { loadBundle, type Lineage, type Registry } from '../registry';
import { inputsOf, type InputSpec } from './inputs';
import type { Scored } from './protocol';

export interface LoadedVersion {
  model: string;
  version: string;
  lineage: Lineage;
  task: 'classification' | 'regression';
  classes?: string[];
  inputs: InputSpec[];
  /** Scores checked columns (protocol.ts built them); synchronous between the encode and the answer. */
  score(table: ColumnTable): Promise<Scored>;
  /**
   * The model gives the same bits for a row scored alone and in a batch on
   * this backend (checked at load: rowWiseModel), so the batcher may merge
   * requests (batcher.ts); false: each request is scored alone.
   */
  rowWise: boolean;
  dispose(): void;
}

/** The options evaluate scores with: a column the request lacks or a bad cell is imputed, but protocol.ts has refused those already. */
const AS_EVALUATE = { invalidValues: 'impute', absentColumns: 'impute' } as const;

/** How a loaded version scores a table: the evaluate stage's encoding, predict, and the decoded answer. */
export function versionScorer(tf: Tf, model: LayersModel, artifact: PreprocessorArtifact) {
  const labels = artifact.labels;
  return async (table: ColumnTable): Promise<Scored> => {
    const { x, rows } = tableEncoder(artifact.preprocessor, table, AS_EVALUATE)();
    const output = await predict(model, x, { tf });
    if (labels.kind === 'regression') return { task: 'regression', rows, values: decodeRegression(labels, output) };
    // argmax, first maximum on ties: the rule the evaluate stage's accuracy uses.
    const predicted = decodeClasses(labels, argmaxRows(output, labels.classes.length));
    return { task: 'classification', rows, classes: labels.classes, labels: predicted, probabilities: output };
  };
}

/**
 * Whether `model` gives the same bits for each row scored alone as in one call
 * with other rows, on the backend in use: 9 rows of seeded values in [-3, 3]
 * (an odd count, so a kernel's remainder rows are exercised), scored together
 * and one by one. An MLP is row-wise in exact arithmetic; a backend whose
 * matrix product sums in another order for one row than for several would
 * give other bits, and then batching would change answers.
 */
export async function rowWiseModel(tf: Tf, model: LayersModel, cols: number, rows = 9): Promise<boolean> {
  let seed = 0x9e3779b9;
  const x = new Float32Array(rows * cols).map(() => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return (seed / 2 ** 32) * 6 - 3;
  });
  const together = await predict(model, x, { tf });
  const outputs = together.length / rows;
  for (let r = 0; r < rows; r++) {
    const alone = await predict(model, x.subarray(r * cols, (r + 1) * cols), { tf });
    for (let k = 0; k < outputs; k++) if (!Object.is(alone[k], together[r * outputs + k])) return false;
  }
  return true;
}

/** Loads `model`/`version` or throws naming what is wrong (a checksum, a file that does not parse, a model that does not fit its preprocessor). */
export async function loadVersion(registry: Registry, tf: Tf, model: string, version: string): Promise<LoadedVersion> {
  const bundle = await loadBundle(registry, model, version);
  const artifact = bundle.preprocessor;
  const layers = await loadModel(tf, bundle.model);
  try {
    const { cols, outputs } = modelShape(layers);
    const wantCols = artifact.preprocessor.columns.length;
    const wantOutputs = artifact.labels.kind === 'classification' ? artifact.labels.classes.length : 1;
    if (cols !== wantCols || outputs !== wantOutputs) {
      throw new Error(
        `${model}/${version}: the model takes ${cols} inputs and gives ${outputs} outputs, its preprocessor makes ${wantCols} columns for ${wantOutputs} outputs; the version is inconsistent`,
      );
    }
    const score = versionScorer(tf, layers, artifact);
    let disposed = false;
    // Warm-up: one row with every feature missing (imputed), so the first request pays no kernel set-up and a model that cannot run is refused now.
    const warm = await score({ source: 'warm-up', rows: 1, names: [], columns: new Map(), rowNumber: (i) => i + 1 });
    const values = warm.task === 'regression' ? warm.values : warm.probabilities;
    if (!values.every(Number.isFinite)) throw new Error(`${model}/${version}: the model answers non-finite values on an imputed row; its weights are broken`);
    return {
      model,
      version,
      lineage: bundle.lineage,
      task: artifact.labels.kind,
      classes: artifact.labels.kind === 'classification' ? artifact.labels.classes : undefined,
      inputs: inputsOf(artifact, bundle.spec),
      score,
      rowWise: await rowWiseModel(tf, layers, cols),
      // Once: a version retired by a timer may be disposed by close() too.
      dispose: () => {
        if (disposed) return;
        disposed = true;
        layers.dispose();
      },
    };
  } catch (error) {
    layers.dispose();
    throw error;
  }
}
