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
  dispose(): void;
}

/** The options evaluate scores with: a column the request lacks or a bad cell is imputed, but protocol.ts has refused those already. */
const AS_EVALUATE = { invalidValues: 'impute', absentColumns: 'impute' } as const;

function scorer(tf: Tf, model: LayersModel, artifact: PreprocessorArtifact) {
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
    const score = scorer(tf, layers, artifact);
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
