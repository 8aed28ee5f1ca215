/**
 * What a served model reads, as the protocols describe it: one input per
 * feature of its preprocessor (the fitted pipeline is the truth about what the
 * model reads), typed by the feature's kind and the spec's schema field.
 */
import type { ModelSpec } from '../spec';
import type { PreprocessorArtifact } from '../preprocess';

export type InputKind = 'number' | 'category' | 'date';

export interface InputSpec {
  name: string;
  kind: InputKind;
  /** The OIP datatype advertised in metadata: FP64 for numbers, BYTES for text and dates. */
  datatype: 'FP64' | 'BYTES';
  /** A missing value (null, or NaN for numbers) is imputed as training did; false: the schema forbids it, so it is refused. */
  nullable: boolean;
  /** A categorical feature over a number field takes numeric tensors too. */
  numericCategory: boolean;
}

/** The inputs of a version, in the preprocessor's feature order. */
export function inputsOf(artifact: PreprocessorArtifact, spec: Pick<ModelSpec, 'schema'>): InputSpec[] {
  const fields = new Map(spec.schema.fields.map((f) => [f.name, f]));
  return artifact.preprocessor.features.map((f): InputSpec => {
    const field = fields.get(f.name);
    const nullable = field?.nullable ?? true;
    switch (f.kind) {
      case 'numeric':
        return { name: f.name, kind: 'number', datatype: 'FP64', nullable, numericCategory: false };
      case 'categorical':
        return { name: f.name, kind: 'category', datatype: field?.type === 'number' ? 'FP64' : 'BYTES', nullable, numericCategory: field?.type === 'number' };
      case 'date':
        return { name: f.name, kind: 'date', datatype: 'BYTES', nullable, numericCategory: false };
    }
  });
}
