/**
 * Two saved models of the same architecture, weight by weight (`perennial
 * reproduce`): which tensors differ, by how much, and whether every bit is
 * the same. Pure: reads only the two ModelArtifacts.
 */
import type { ModelArtifacts } from './mlp';

interface WeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
}

export interface TensorComparison {
  name: string;
  shape: number[];
  values: number;
  /** Values whose bits differ. */
  differing: number;
  maxAbsDiff: number;
}

export interface WeightComparison {
  tensors: TensorComparison[];
  values: number;
  differing: number;
  maxAbsDiff: number;
  /** Every byte of weights.bin is the same. */
  identical: boolean;
}

function weightSpecsOf(artifacts: ModelArtifacts, which: string): WeightSpec[] {
  const json = JSON.parse(artifacts.modelJson) as { weightsManifest?: { weights?: WeightSpec[] }[] };
  if (!Array.isArray(json.weightsManifest)) throw new Error(`the ${which} model.json has no weightsManifest (not a tfjs layers model)`);
  return json.weightsManifest.flatMap((group) => group.weights ?? []);
}

/** The float32 values of weights.bin, copied once so an unaligned Buffer view can be read. */
function floatsOf(artifacts: ModelArtifacts): Float32Array {
  const w = artifacts.weights;
  return new Float32Array(w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength));
}

const describeSpecs = (specs: WeightSpec[]) => specs.map((s) => `${s.name}[${s.shape.join('x')}]`).join(', ');

/**
 * Tensor by tensor, `recorded` against `reproduced`. Models whose tensors differ
 * in name, shape or type are not comparable: an error says how.
 */
export function compareWeights(recorded: ModelArtifacts, reproduced: ModelArtifacts): WeightComparison {
  const [specsA, specsB] = [weightSpecsOf(recorded, 'recorded'), weightSpecsOf(reproduced, 'reproduced')];
  if (describeSpecs(specsA) !== describeSpecs(specsB)) {
    throw new Error(`the models have different tensors: recorded ${describeSpecs(specsA)}; reproduced ${describeSpecs(specsB)}`);
  }
  const other = specsA.find((s) => s.dtype !== undefined && s.dtype !== 'float32');
  if (other) throw new Error(`tensor ${other.name} is ${other.dtype}; only float32 weights are compared`);
  const [a, b] = [floatsOf(recorded), floatsOf(reproduced)];
  const bitsA = new Uint32Array(a.buffer);
  const bitsB = new Uint32Array(b.buffer);
  const expected = specsA.reduce((sum, s) => sum + s.shape.reduce((x, y) => x * y, 1), 0);
  if (a.length !== expected || b.length !== expected) {
    throw new Error(`weights.bin holds ${a.length} (recorded) and ${b.length} (reproduced) values; the manifest says ${expected}`);
  }
  const tensors: TensorComparison[] = [];
  let offset = 0;
  for (const spec of specsA) {
    const values = spec.shape.reduce((x, y) => x * y, 1);
    let differing = 0;
    let maxAbsDiff = 0;
    for (let i = offset; i < offset + values; i++) {
      if (bitsA[i] === bitsB[i]) continue;
      differing++;
      const diff = Math.abs(a[i]! - b[i]!);
      // NaN against a number is as different as values get.
      maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(diff) ? Infinity : diff);
    }
    tensors.push({ name: spec.name, shape: spec.shape, values, differing, maxAbsDiff });
    offset += values;
  }
  const differing = tensors.reduce((sum, t) => sum + t.differing, 0);
  return {
    tensors,
    values: expected,
    differing,
    maxAbsDiff: tensors.reduce((max, t) => Math.max(max, t.maxAbsDiff), 0),
    identical: differing === 0,
  };
}
