/**
 * The champion's error stream through a streaming detector of the drift
 * engine: DDM on a classifier's 0/1 errors, ADWIN on a regression's absolute
 * errors (River's defaults, but no detection before the monitor's minimum
 * sample: DDM's warm start and ADWIN's grace period are `minLabels`, as
 * DDM with a warm start of 30 alarms on a level error stream once its early,
 * lucky minimum is behind it). A detection is a second performance trigger,
 * beside the thresholds: it sees the error rate rise before a window's
 * average crosses a fixed floor. The detector's state is plain JSON, carried
 * across continue-as-new and resumed exactly.
 */
import { createDetector, restoreDetector } from '../drift/stream';

export interface ErrorStream {
  version: string;
  detector: 'ddm' | 'adwin';
  /** The detector's toJSON(). */
  state: unknown;
  /** Labels fed since the version became champion. */
  seen: number;
}

export function newErrorStream(version: string, regression: boolean, minLabels: number): ErrorStream {
  const detector = regression ? 'adwin' : 'ddm';
  const params: Record<string, number> = regression ? { grace_period: minLabels } : { warm_start: minLabels };
  return { version, detector, state: createDetector(detector, params).toJSON(), seen: 0 };
}

/** Feeds errors (1/0, or absolute errors); the evidence of the first detection among them, or undefined. */
export function feedErrors(stream: ErrorStream, errors: number[]): string | undefined {
  if (errors.length === 0) return undefined;
  const detector = restoreDetector(stream.state);
  let detection: string | undefined;
  for (const error of errors) {
    detector.update(error);
    stream.seen += 1;
    if (detector.driftDetected && detection === undefined) {
      detection =
        stream.detector === 'ddm'
          ? `DDM detected a rise in ${stream.version}'s error rate at its ${stream.seen}th live label`
          : `ADWIN detected a change in ${stream.version}'s absolute errors at its ${stream.seen}th live label`;
    }
  }
  stream.state = detector.toJSON();
  return detection;
}
