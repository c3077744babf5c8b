// Loaded into a child process with NODE_OPTIONS=--import: at exit, writes the URL of every module
// the process loaded, one a line, to $SCALEPASS_TEST_MODULE_LOG, so a test can tell which dist/
// chunks a command needed (what --version costs, which OTLP exporter a pass brought in).
import { registerHooks } from 'node:module';
import fs from 'node:fs';

const out = process.env['SCALEPASS_TEST_MODULE_LOG'];
const seen: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    seen.push(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  if (out) fs.writeFileSync(out, seen.join('\n') + '\n');
});
