import { CONFORMANCE_FORMAT, isCaseError, loadCases, resultLine, runCases, summaryLine } from '../../conformance/index.js';
import type { ExecutionProvider } from '../../runtime/engine.js';
import { webgpuEnvFix } from '../../runtime/adapters/webgpu-env.js';
import { EXECUTION_PROVIDERS, createEngine } from '../../runtime/engines.js';
import { defineCommand } from '../command.js';
import { isReexec } from '../reexec.js';

export default defineCommand({
  name: 'conformance',
  summary: 'run conformance case files (shared/conformance/FORMAT.md) against the project\'s graphs on an execution provider',
  positionals: { usage: '<file-or-folder>...', min: 1 },
  flags: {
    ep: { type: 'string', choices: EXECUTION_PROVIDERS, default: 'cpu', description: 'execution provider for optimizer and schedule graphs' },
    json: { type: 'boolean', description: 'print one JSON object {"passed", "failed", "cases": [{"id", "kind", "pass", "message"}]}' },
  },
  details: `Reads every *.json named (folders recursively): one case per file, or {"format": "${CONFORMANCE_FORMAT}",
"cases": [...]}. Prints "PASS <id>" or "FAIL <id>: <message>" per case, then "<N> passed, <M> failed".
Exit status: 0 all passed; 1 some case failed (or the execution provider is unavailable); 2 a case file is
malformed or names something unsupported (the message names the file, the field and what was expected).
--ep webgpu on Linux without a GPU driver runs on SwiftShader (apt-get install -y chromium); when that needs
LD_LIBRARY_PATH, which only works from process start, the command restarts itself with it set.`,
  async run(args, io, ctx) {
    const ep = args.flags.ep as ExecutionProvider;
    if (ep === 'webgpu' && !isReexec()) {
      const fix = webgpuEnvFix();
      if (fix?.needsRestart && ctx.reexec) return ctx.reexec(fix.env);
    }

    let cases;
    try {
      cases = loadCases(args.positionals);
    } catch (e) {
      if (!isCaseError(e)) throw e;
      io.err(`error: ${e.message}\n`);
      return 2;
    }

    let result;
    try {
      result = await runCases(cases, {
        engine: () => createEngine(ep),
        onResult: args.flags.json ? undefined : (r) => io.out(`${resultLine(r)}\n`),
      });
    } catch (e) {
      if (!isCaseError(e)) throw e;
      io.err(`error: ${e.message}\n`);
      return 2;
    }

    const { report, caseErrors } = result;
    io.out(args.flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${summaryLine(report)}\n`);
    for (const e of caseErrors) io.err(`error: ${e.message}\n`);
    return caseErrors.length > 0 ? 2 : report.failed > 0 ? 1 : 0;
  },
});
