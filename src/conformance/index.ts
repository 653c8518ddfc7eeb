/**
 * Conformance cases (shared/conformance/FORMAT.md): loading, checking and running them. The CLI's
 * `onnx-train conformance` is a thin shell over this.
 */
export {
  CASE_KINDS,
  CONFORMANCE_FORMAT,
  caseFiles,
  checkCase,
  isCaseError,
  loadCases,
  loadRunner,
  parseCaseFile,
  resultLine,
  runCases,
  summaryLine,
  type CaseKind,
  type CaseOutcome,
  type CaseResult,
  type ConformanceCase,
  type ConformanceReport,
  type EngineRunner,
  type HostRunner,
  type LoadedCase,
  type RunCasesOptions,
  type RunCasesResult,
  type Runner,
  type Tolerance,
} from './run.js';
