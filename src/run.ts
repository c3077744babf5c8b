// Entry point of one pass: args -> config -> clients -> pass -> flush -> exit code.
// --help and --version answer from here without loading the Kubernetes client, the OpenTelemetry SDK
// or any scaler; everything heavy is imported only when a pass actually runs.
import { ConfigError, parseCliArgs, usage, versionText } from './config/args.ts';

const processStart = Date.now();
const args = parseCliArgs(process.argv.slice(2));
if (args instanceof ConfigError) {
  process.stderr.write(`scalepass: ${args.message}\n`);
  process.exitCode = 2;
} else if (args.help) {
  process.stdout.write(usage() + '\n');
} else if (args.version) {
  process.stdout.write(versionText() + '\n');
} else {
  // config is validated before the Kubernetes client and the SDK are even loaded
  const { loadConfig } = await import('./config/load.ts');
  const loaded = await loadConfig(args, process.env);
  if (loaded instanceof ConfigError) {
    process.stderr.write(`scalepass: ${loaded.message}\n`);
    process.exitCode = 2;
  } else {
    const { main } = await import('./main.ts');
    process.exitCode = await main(loaded.config, processStart);
  }
}
