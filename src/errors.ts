/**
 * The one error type of onnx-train. Every failure a user can cause (bad file, unsupported op, mismatched
 * checkpoint, bad argument) is an OnnxTrainError carrying what went wrong, where, and how to fix it.
 * The CLI prints it without a stack and exits 1; any other exception is a bug (stack trace, exit 2).
 */
export type ErrorCode =
  | 'BAD_ARGUMENT'
  | 'BAD_MODEL'
  | 'BAD_CHECKPOINT'
  | 'BAD_CASE'
  | 'UNSUPPORTED_OP'
  | 'UNLOWERED_OP'
  | 'INVALID_GRAPH'
  | 'SHAPE_MISMATCH'
  | 'UNSAFE_PATH'
  | 'IO'
  | 'RUNTIME'
  | 'NON_FINITE';

export class OnnxTrainError extends Error {
  readonly code: ErrorCode;
  readonly what: string;
  readonly fix: string | undefined;
  readonly where: string | undefined;

  constructor(code: ErrorCode, what: string, fix?: string, where?: string) {
    super(OnnxTrainError.format(what, fix, where));
    this.name = 'OnnxTrainError';
    this.code = code;
    this.what = what;
    this.fix = fix;
    this.where = where;
  }

  private static format(what: string, fix?: string, where?: string): string {
    let s = where ? `${where}: ${what}` : what;
    if (fix) s += `\n  fix: ${fix}`;
    return s;
  }
}

export function isOnnxTrainError(e: unknown): e is OnnxTrainError {
  return e instanceof OnnxTrainError;
}
