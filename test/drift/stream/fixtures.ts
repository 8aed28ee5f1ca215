import { readFileSync } from 'node:fs';
import type { DetectorName, ParamValue } from '../../../src/drift/stream';

export interface RiverCase {
  id: string;
  detector: DetectorName;
  params: Record<string, ParamValue>;
  description: string;
  stream: string;
  drifts: number[];
  warnings: number[];
}

export interface RiverCases {
  river: string;
  streams: Record<string, number[]>;
  cases: RiverCase[];
}

export interface BuildingBlocks {
  python_random_sample: { seed: number; n: number; k: number; first_uint32: number; draws: number[][] }[];
  ks_2samp: { a: number[]; b: number[]; statistic: number; pvalue: number }[];
}

const dir = new URL('../../fixtures/drift/stream/', import.meta.url);

export function loadRiverCases(): RiverCases {
  return JSON.parse(readFileSync(new URL('river_cases.json', dir), 'utf8')) as RiverCases;
}

export function loadBuildingBlocks(): BuildingBlocks {
  return JSON.parse(readFileSync(new URL('building_blocks.json', dir), 'utf8')) as BuildingBlocks;
}
