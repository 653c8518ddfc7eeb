/**
 * Test helper: the shared conformance cases this suite checks (../shared/conformance/cases). Absent files are
 * reported by the caller with a skipped, loudly named test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHARED } from '../../helpers/paths.js';

export const CASES_DIR = path.join(SHARED, 'conformance', 'cases');

export interface ScheduleCase {
  id: string;
  kind: 'schedule';
  schedule: Record<string, unknown>;
  base_lr?: number;
  default_lr?: number;
  steps: number[];
  expect_lr: number[];
  tolerance: { rtol: number; atol: number };
}

/** The cases of one file, or undefined when the file is absent. */
export function loadCases<T = Record<string, unknown>>(file: string): T[] | undefined {
  const p = path.join(CASES_DIR, file);
  if (!fs.existsSync(p)) return undefined;
  const d = JSON.parse(fs.readFileSync(p, 'utf8')) as { cases?: T[] } & T;
  return d.cases ?? [d];
}

/** `|got − want| ≤ atol + rtol·|want|` (FORMAT.md). */
export function within(got: number, want: number, tol: { rtol: number; atol: number }): boolean {
  return Math.abs(got - want) <= tol.atol + tol.rtol * Math.abs(want);
}
