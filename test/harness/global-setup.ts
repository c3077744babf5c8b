// node --test --test-global-setup: one harness for the whole run. A harness that was already up
// (npm run harness:up) is reused and left running; one started here is stopped at the end.
import { down, up } from './src/harness.ts';

let startedHere = false;

export async function globalSetup(): Promise<void> {
  const { started, state } = await up();
  startedHere = started;
  process.stderr.write(`harness ${started ? 'started' : 'reused'}: ${state.apiserver} (timings ms ${JSON.stringify(state.timings)})\n`);
}

export async function globalTeardown(): Promise<void> {
  if (startedHere && process.env.SCALEPASS_HARNESS_KEEP !== '1') await down();
}
