import type { DriftReport } from '../../../src/drift/types';

/** A hand-built report covering every case the renderers must show. */
export function sampleReport(): DriftReport {
  return {
    generated_at: '2026-11-26T15:00:00.000Z',
    reference_rows: 1461,
    current_rows: 1460,
    drift_share: 0.5,
    correction: 'none',
    number_of_columns: 6,
    number_of_drifted_columns: 3,
    share: 0.6,
    drift: true,
    columns: [
      {
        name: 'wind',
        type: 'numerical',
        method: 'wasserstein',
        statistic: 0.04123456789012345,
        p_value: null,
        score: 'distance',
        threshold: 0.1,
        drift: false,
        missing: { reference: 0, current: 2 },
        testable: true,
        picture: {
          kind: 'histogram',
          edges: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9.5],
          reference: [0.02, 0.1, 0.2, 0.25, 0.18, 0.12, 0.08, 0.04, 0.01],
          current: [0.03, 0.11, 0.19, 0.24, 0.17, 0.13, 0.08, 0.04, 0.01],
        },
      },
      {
        name: 'temp_max',
        type: 'numerical',
        method: 'ks',
        statistic: 0.3125,
        p_value: 1.234567890123e-17,
        score: 'p_value',
        threshold: 0.05,
        drift: true,
        missing: { reference: 0, current: 0 },
        testable: true,
        picture: {
          kind: 'histogram',
          edges: [-5, 0, 5, 10, 15, 20, 25, 30, 35, 40],
          reference: [0.01, 0.05, 0.2, 0.3, 0.25, 0.12, 0.05, 0.02, 0],
          current: [0.03, 0.08, 0.12, 0.15, 0.17, 0.18, 0.17, 0.08, 0.02],
        },
      },
      {
        name: 'weather <script>alert(1)</script>',
        type: 'categorical',
        method: 'jensenshannon',
        statistic: 0.4567,
        p_value: null,
        score: 'distance',
        threshold: 0.1,
        drift: true,
        missing: { reference: 1, current: 0 },
        testable: true,
        unseen_categories: ['hail & "ice"', '<b>fog</b>'],
        picture: {
          kind: 'bars',
          labels: ['rain', 'sun', 'fog', 'drizzle', 'snow', 'hail & "ice"', '<b>fog</b>'],
          reference: [0.44, 0.44, 0.07, 0.04, 0.01, 0, 0],
          current: [0.2, 0.6, 0.05, 0.05, 0.04, 0.03, 0.03],
        },
      },
      {
        name: 'precipitation',
        type: 'numerical',
        method: 'ks',
        statistic: 0.08,
        p_value: 0.0123,
        score: 'p_value',
        threshold: 0.05,
        drift: true,
        missing: { reference: 0, current: 0 },
        testable: true,
        picture: {
          kind: 'histogram',
          edges: [0, 2, 4, 8, 16, 32, 56],
          reference: [0.6, 0.15, 0.1, 0.08, 0.05, 0.02],
          current: [0.55, 0.17, 0.1, 0.1, 0.06, 0.02],
        },
      },
      {
        name: 'temp_min',
        type: 'numerical',
        method: 'ks',
        statistic: 0.02,
        p_value: 0.7,
        score: 'p_value',
        threshold: 0.05,
        drift: false,
        missing: { reference: 0, current: 0 },
        testable: true,
        note: 'p-value capped at 0.25 (anderson)',
        additional: [{ method: 'wasserstein', statistic: 0.0312, p_value: null, score: 'distance', threshold: 0.1, drift: false, testable: true }],
      },
      {
        name: 'station',
        type: 'categorical',
        method: 'chisquare',
        statistic: null,
        p_value: null,
        score: 'p_value',
        threshold: 0.05,
        drift: false,
        missing: { reference: 0, current: 0 },
        testable: false,
        reason: 'constant column: one value in both samples',
      },
    ],
    multivariate: { method: 'mmd', statistic: 0.0123456, p_value: 0.001, threshold: 0.05, drift: true, permutations: 100, bandwidth: 1.7320508075688772 },
  };
}

/** What the page shows for a report: column cards in order, and the text of each number. */
export interface ExpectedTexts {
  /** Column cards, most drifted first. */
  order: string[];
  /** Summary field -> text. */
  summary: Record<string, string>;
  /** Column -> field -> text. */
  columns: Record<string, Record<'statistic' | 'p_value' | 'threshold' | 'missing_reference' | 'missing_current', string>>;
}

/** The sample report as the page must show it, written out by hand (not computed by the renderers). */
export const SAMPLE_EXPECTED: ExpectedTexts = {
  // drifted: temp_max (p 1e-17 vs 0.05), weather (distance 0.46 vs 0.1), precipitation (p 0.0123); then wind, temp_min; station not testable
  order: ['temp_max', 'weather <script>alert(1)</script>', 'precipitation', 'wind', 'temp_min', 'station'],
  summary: { share: '0.6', drift_share: '0.5', reference_rows: '1461', current_rows: '1460', number_of_columns: '6', number_of_drifted_columns: '3' },
  columns: {
    wind: { statistic: '0.04123', p_value: '—', threshold: '0.1', missing_reference: '0', missing_current: '2' },
    temp_max: { statistic: '0.3125', p_value: '1.235e-17', threshold: '0.05', missing_reference: '0', missing_current: '0' },
    'weather <script>alert(1)</script>': { statistic: '0.4567', p_value: '—', threshold: '0.1', missing_reference: '1', missing_current: '0' },
    precipitation: { statistic: '0.08', p_value: '0.0123', threshold: '0.05', missing_reference: '0', missing_current: '0' },
    temp_min: { statistic: '0.02', p_value: '0.7', threshold: '0.05', missing_reference: '0', missing_current: '0' },
    station: { statistic: '—', p_value: '—', threshold: '0.05', missing_reference: '0', missing_current: '0' },
  },
};
