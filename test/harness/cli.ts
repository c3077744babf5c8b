// npm run harness:up | harness:down | node test/harness/cli.ts status
import { down, HARNESS_DIR, isUp, readState, up } from './src/harness.ts';

const cmd = process.argv[2] ?? 'status';
try {
  if (cmd === 'up') {
    const { state, started } = await up();
    const t = state.timings;
    console.log(started
      ? `harness up in ${(t.total! / 1000).toFixed(1)} s (apiserver ready after ${((t['kube-apiserver'] ?? 0) / 1000).toFixed(1)} s)`
      : 'harness already up');
    console.log(`  kube-apiserver  ${state.apiserver}`);
    console.log(`  OTLP/HTTP       ${state.otlpEndpoint}   (file: ${state.metricsFile})`);
    console.log(`  Prometheus      ${state.prometheusUrl}   (scrapes ${state.promExporterUrl})`);
    console.log(`  NATS JetStream  ${state.natsUrl}   (monitoring ${state.natsMonitoringUrl})`);
    console.log(`  logs            ${HARNESS_DIR}/logs/`);
    console.log(`\n  source ${HARNESS_DIR}/env   # KUBECONFIG, OTEL_EXPORTER_OTLP_ENDPOINT, PROMETHEUS_URL, service URLs`);
  } else if (cmd === 'down') {
    await down();
  } else if (cmd === 'status') {
    const s = readState();
    const ok = await isUp(s);
    console.log(ok ? `harness up (${s!.apiserver})` : 'harness down');
    process.exitCode = ok ? 0 : 1;
  } else {
    console.error('usage: node test/harness/cli.ts up|down|status');
    process.exitCode = 2;
  }
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 1;
}
