#!/usr/bin/env node
// The onnx-train command. The package runs from its TypeScript sources: register tsx's loader, then hand over
// to src/cli/main.ts (which owns exit codes; see there).
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2), { self: [...process.execArgv, process.argv[1]] });
