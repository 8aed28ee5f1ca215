import { describe, expect, it } from 'vitest';
import { checkpointFromBytes, checkpointToBytes, type Checkpoint } from '../../src/model';
import { modelParams } from '../../src/model/params';

const checkpoint: Checkpoint = {
  format: 'perennial-checkpoint',
  version: 1,
  epoch: 3,
  task: 'classification',
  cols: 2,
  outputs: 3,
  params: modelParams.parse({}),
  backend: 'cpu',
  model: { modelJson: '{"format":"layers-model"}', weights: new Uint8Array([1, 2, 3, 4, 5]) },
  optimizer: [{ name: 'm/dense', shape: [2], data: new Float32Array([0.5, -1.25]) }],
  history: [],
};

describe('checkpoint bytes', () => {
  it('round-trips, also from a Buffer that is a view into a larger pool (as S3 reads give)', () => {
    const bytes = checkpointToBytes(checkpoint);
    const pool = Buffer.alloc(bytes.byteLength + 7);
    Buffer.from(bytes).copy(pool, 3);
    const fromPool = pool.subarray(3, 3 + bytes.byteLength);
    for (const input of [bytes, Buffer.from(bytes), fromPool]) {
      const back = checkpointFromBytes(input);
      expect(back.epoch).toBe(3);
      expect([...back.model.weights]).toEqual([1, 2, 3, 4, 5]);
      expect([...back.optimizer[0]!.data]).toEqual([0.5, -1.25]);
    }
  });
});
