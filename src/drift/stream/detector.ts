/**
 * What every streaming detector shares: its resolved parameters, the drift
 * and warning flags of the last update, River's rule that a detector which
 * flagged a drift starts afresh on the next update, and plain-JSON save and
 * restore derived from the detector's state declaration (state.ts).
 *
 * A detector supplies its name, whether it has a warning zone, its state
 * declaration and `step(x)`, which reads and writes `this.state` and sets
 * `this.drift` / `this.warning`.
 */
import { decodeBoolean, initialState, stateFromJSON, stateToJSON, type StateOf, type StateSchema } from './state';
import type { DetectorName, DetectorState, ParamValue, StreamDetector } from './types';

export abstract class Detector<P extends object, S extends StateSchema<P>> implements StreamDetector {
  abstract readonly name: DetectorName;
  abstract readonly hasWarningZone: boolean;
  readonly params: P;
  protected drift = false;
  protected warning = false;
  protected state: StateOf<S>;

  constructor(
    params: P,
    private readonly schema: S,
  ) {
    this.params = { ...params };
    this.state = initialState(schema, this.params);
  }

  /** Rebuild a detector from `toJSON()` output; `saved.params` must be resolved (restoreDetector does it). */
  static fromJSON<D extends Detector<object, StateSchema<never>>>(this: new (params: never) => D, saved: DetectorState): D {
    const detector = new this(saved.params as never);
    detector.restore(saved);
    return detector;
  }

  get driftDetected(): boolean {
    return this.drift;
  }

  get warningDetected(): boolean {
    return this.warning;
  }

  update(x: number): void {
    // River: flags describe the last update, and a drift resets the detector at the start of the next one.
    if (this.drift) this.reset();
    this.step(x);
  }

  /** One value in: update `this.state` and the flags. */
  protected abstract step(x: number): void;

  protected reset(): void {
    this.drift = false;
    this.warning = false;
    this.state = initialState(this.schema, this.params, this.state);
  }

  toJSON(): DetectorState {
    return {
      detector: this.name,
      version: 1,
      params: { ...this.params } as Record<string, ParamValue | null>,
      driftDetected: this.drift,
      warningDetected: this.warning,
      state: stateToJSON(this.schema, this.state),
    };
  }

  protected restore(saved: DetectorState): void {
    this.drift = decodeBoolean(saved.driftDetected, 'driftDetected');
    // detectors without a warning zone never raise one, whatever the saved flag says
    this.warning = this.hasWarningZone ? decodeBoolean(saved.warningDetected, 'warningDetected') : false;
    this.state = stateFromJSON(this.schema, saved.state, this.params);
  }
}
