// Starts the real cc-inbound binary on 127.0.0.1:0 with a temporary database and reads
// its port back from the "listening" log line (as tests/e2e/harness.py does).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const BINARY = process.env.CC_BINARY || resolve(here, '..', '..', 'build', 'cc-inbound');

export async function startServer(extraEnv = {}) {
  if (!existsSync(BINARY)) throw new Error(`cc-inbound binary not found at ${BINARY}; build it or set CC_BINARY`);
  const dir = mkdtempSync(join(tmpdir(), 'cc-browser-'));
  const token = randomBytes(24).toString('hex');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CC_')));
  Object.assign(env, {
    CC_LISTEN: '127.0.0.1:0',
    CC_DATABASE: join(dir, 'cc.db'),
    CC_ADMIN_TOKEN: token,
    CC_LAST_USED_FLUSH_MS: '200',
    // The failure throttle has its own e2e test; here a sign-out test sends several 401s in a row.
    CC_ADMIN_FAILURE_DELAY_MS: '0',
  }, extraEnv);
  const proc = spawn(BINARY, ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  let buffered = '';
  const address = await new Promise((resolveAddress, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not report listening in 20 s:\n${log.join('\n')}`)), 20000);
    proc.stdout.on('data', (chunk) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        log.push(line);
        try {
          const obj = JSON.parse(line);
          if (obj.msg === 'listening' && typeof obj.address === 'string') {
            clearTimeout(timer);
            resolveAddress(obj.address);
          }
        } catch { /* not JSON */ }
      }
    });
    proc.stderr.on('data', (chunk) => log.push(chunk.toString()));
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before listening:\n${log.join('\n')}`)); });
  });
  const origin = `http://${address}`;
  return {
    origin,
    token,
    log,
    /** Calls the service directly (not through the page): admin or inbound. */
    async call(method, path, { body, headers = {}, admin = true } = {}) {
      const h = { ...headers };
      if (admin) h.Authorization = `Bearer ${token}`;
      if (body !== undefined) h['Content-Type'] = 'application/json';
      const res = await fetch(origin + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* empty or not JSON */ }
      return { status: res.status, headers: res.headers, json, text };
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => { proc.on('exit', r); setTimeout(r, 10000); });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
