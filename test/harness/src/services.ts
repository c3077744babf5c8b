// The machine's own event-source servers (PostgreSQL, MariaDB, Redis, RabbitMQ, NATS): checked, and
// started with the machine's documented commands when one is down. Tests use them as they are.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import { tcpOpen } from './probe.ts';

export interface Service { name: string; host: string; port: number; url: string; start: string }

export const SERVICES: Service[] = [
  { name: 'postgresql', host: '127.0.0.1', port: 5432, url: 'postgresql://postgres@127.0.0.1:5432/test',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' },
  { name: 'mariadb', host: '127.0.0.1', port: 3306, url: 'mysql://root@127.0.0.1:3306/test',
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd' },
  { name: 'redis', host: '127.0.0.1', port: 6379, url: 'redis://127.0.0.1:6379',
    start: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log' },
  { name: 'rabbitmq', host: '127.0.0.1', port: 5672, url: 'amqp://guest:guest@127.0.0.1:5672/',
    start: 'rabbitmq-server -detached' },
  { name: 'nats', host: '127.0.0.1', port: 4222, url: 'nats://127.0.0.1:4222',
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log' },
];

async function waitOpen(s: Service, ms: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await tcpOpen(s.host, s.port)) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** Make sure every machine service listens; start the ones that don't. Returns a line per service. */
export async function ensureServices(log: (s: string) => void): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(SERVICES.map(async (s) => {
    if (!(await tcpOpen(s.host, s.port))) {
      log(`harness: ${s.name} is down on ${s.host}:${s.port}; starting it: ${s.start}`);
      try {
        execSync(s.start, { stdio: 'ignore', shell: '/bin/bash', timeout: 60_000 });
      } catch (e) {
        throw new Error(`harness: could not start ${s.name}: ${(e as Error).message}`);
      }
      if (!(await waitOpen(s, 60_000))) {
        const logs: Record<string, string> = { redis: '/var/log/redis/ci.log', nats: '/var/log/nats-server.log' };
        const f = logs[s.name];
        const tail = f && fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').slice(-20).join('\n') : '';
        throw new Error(`harness: ${s.name} still not listening on ${s.host}:${s.port} after start\n${tail}`);
      }
    }
    out[s.name] = s.url;
  }));
  out['rabbitmq-management'] = await ensureRabbitMqManagement(log);
  return out;
}

export const RABBITMQ_MANAGEMENT_URL = 'http://127.0.0.1:15672';

/**
 * RabbitMQ ships its HTTP management API as a plugin, disabled by default; the rabbitmq scaler needs it
 * for the HTTP protocol and for rates. Enabling it on a running node takes effect without a restart.
 */
export async function ensureRabbitMqManagement(log: (s: string) => void): Promise<string> {
  const api: Service = { name: 'rabbitmq-management', host: '127.0.0.1', port: 15672, url: RABBITMQ_MANAGEMENT_URL,
    start: 'rabbitmq-plugins enable rabbitmq_management' };
  if (await tcpOpen(api.host, api.port)) return api.url;
  log(`harness: the RabbitMQ management API is not listening on ${api.host}:${api.port}; enabling it: ${api.start}`);
  try {
    execSync(api.start, { stdio: 'ignore', shell: '/bin/bash', timeout: 120_000 });
  } catch (e) {
    throw new Error(`harness: could not enable the RabbitMQ management plugin: ${(e as Error).message}`);
  }
  if (!(await waitOpen(api, 60_000))) throw new Error(`harness: RabbitMQ management API still not listening on ${api.host}:${api.port} after enabling it`);
  return api.url;
}
