/**
 * CBPE's cost — prints figures, asserts nothing. The fit runs once per
 * evaluation (in the scoring child, on the holdout), the estimate once per
 * drift check (on at most maxRows rows of the window).
 *
 * Synthetic classifier outputs (5 classes, seeded): probabilities a softmax of
 * random logits, labels drawn from a sharper softmax of the same logits (so
 * the model is under-confident and calibration has work to do).
 *
 *   npx tsx scripts/bench/cbpe.ts [--fit 1000,10000,100000,300000] [--estimate 100000,1000000]
 */
import { parseArgs } from 'node:util';
import { mulberry32 } from '../../src/model/rng';
import { estimatePerformance, fitCalibration } from '../../src/monitor/cbpe';

const CLASSES = ['drizzle', 'fog', 'rain', 'snow', 'sun'];

function outputs(rows: number, seed: number): { probabilities: Float64Array; labels: Int32Array } {
  const next = mulberry32(seed); // seeded: every run scores the same rows
  const k = CLASSES.length;
  const probabilities = new Float64Array(rows * k);
  const labels = new Int32Array(rows);
  const logits = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    let sharp = 0;
    for (let j = 0; j < k; j++) {
      logits[j] = 2 * next() + (j === 4 ? 0.8 : 0);
      sum += Math.exp(logits[j]!);
      sharp += Math.exp(2 * logits[j]!);
    }
    for (let j = 0; j < k; j++) probabilities[r * k + j] = Math.exp(logits[j]!) / sum;
    let u = next() * sharp;
    let label = 0;
    while (label < k - 1 && (u -= Math.exp(2 * logits[label]!)) > 0) label++;
    labels[r] = label;
  }
  return { probabilities, labels };
}

const { values } = parseArgs({
  options: { fit: { type: 'string', default: '1000,10000,100000,300000' }, estimate: { type: 'string', default: '100000,1000000' } },
});
const sizes = (text: string) => text.split(',').map(Number);

console.log(`CBPE, ${CLASSES.length} classes, Node ${process.version}`);
for (const rows of sizes(values.fit)) {
  const { probabilities, labels } = outputs(rows, 1);
  const started = performance.now();
  const calibration = fitCalibration(probabilities, labels, CLASSES);
  const seconds = (performance.now() - started) / 1000;
  const points = calibration.curves.reduce((n, c) => n + (c.kind === 'isotonic' ? c.x.length : 0), 0);
  const json = JSON.stringify(calibration).length;
  console.log(
    `fit on ${rows} holdout rows: ${seconds.toFixed(3)} s; ${calibration.curves.filter((c) => c.kind === 'isotonic').length} classes calibrated, ` +
      `${points} isotonic points, ${(json / 1024).toFixed(1)} KiB of JSON; holdout estimate ${calibration.reference.accuracy.toFixed(4)} vs realised ${calibration.reference.realised.accuracy.toFixed(4)}`,
  );
}
const calibration = fitCalibration(outputs(10_000, 1).probabilities, outputs(10_000, 1).labels, CLASSES);
for (const rows of sizes(values.estimate)) {
  const { probabilities, labels } = outputs(rows, 2);
  const started = performance.now();
  const estimate = estimatePerformance(calibration, probabilities, CLASSES);
  const seconds = (performance.now() - started) / 1000;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < CLASSES.length; j++) if (probabilities[r * CLASSES.length + j]! > probabilities[r * CLASSES.length + best]!) best = j;
    if (best === labels[r]) correct++;
  }
  console.log(
    `estimate on ${rows} rows: ${seconds.toFixed(3)} s (${Math.round(rows / seconds)} rows/s); estimated accuracy ${estimate.accuracy.toFixed(4)}, realised ${(correct / rows).toFixed(4)}`,
  );
}
