// The benchmark's node peer: POST /__cc/inbound as a typical team would ship it with
// fastify and better-sqlite3. The key is looked up in a key table (SHA-256 of the key,
// a prepared SELECT per request), the event is stored with one durable INSERT (WAL,
// synchronous=FULL: committed and fsynced before the answer), then 202.
//
//   node server.js init DB KEY...   create the schema and store the keys' hashes
//   node server.js serve DB         listen on 127.0.0.1:$PORT (0: any free port) and
//                                   print {"msg":"listening","address":"127.0.0.1:PORT"}
'use strict';

const crypto = require('node:crypto');
const Database = require('better-sqlite3');

const [, , command, dbPath, ...keys] = process.argv;
if (!command || !dbPath) {
  console.error('usage: server.js init DB KEY... | serve DB');
  process.exit(2);
}

const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');

const hashOf = (key) => crypto.createHash('sha256').update(key).digest();

if (command === 'init') {
  db.exec(`
    CREATE TABLE IF NOT EXISTS api_keys (key_hash BLOB PRIMARY KEY, key_id TEXT NOT NULL, domain TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS events (
      seq INTEGER PRIMARY KEY,
      domain TEXT NOT NULL,
      event_id TEXT NOT NULL,
      key_id TEXT NOT NULL,
      name TEXT NOT NULL,
      email TEXT,
      value TEXT,
      currency TEXT,
      received_at INTEGER NOT NULL,
      raw TEXT NOT NULL,
      UNIQUE (domain, event_id)
    );`);
  const add = db.prepare('INSERT OR REPLACE INTO api_keys (key_hash, key_id, domain) VALUES (?, ?, ?)');
  keys.forEach((key, i) => add.run(hashOf(key), 'key_' + i, process.env.PEER_DOMAIN || 'bench.example.com'));
  db.close();
  process.exit(0);
}

const findKey = db.prepare('SELECT key_id, domain FROM api_keys WHERE key_hash = ?');
const insertEvent = db.prepare(`INSERT INTO events (domain, event_id, key_id, name, email, value, currency, received_at, raw)
  VALUES (@domain, @event_id, @key_id, @name, @email, @value, @currency, @received_at, @raw)
  ON CONFLICT (domain, event_id) DO NOTHING`);

const app = require('fastify')({ logger: false, bodyLimit: 1048576 });

app.get('/healthz', async () => ({ status: 'ok' }));

app.post('/__cc/inbound', async (request, reply) => {
  const apiKey = request.headers['x-cc-api-key'];
  const key = typeof apiKey === 'string' ? findKey.get(hashOf(apiKey)) : undefined;
  if (!key) {
    return reply.code(401).send({ error: { code: 'invalid_api_key', message: 'unknown API key' } });
  }
  const event = request.body;
  if (!event || typeof event.event !== 'string' || typeof event.event_id !== 'string') {
    return reply.code(400).send({ error: { code: 'invalid_event', message: 'event and event_id are required' } });
  }
  const result = insertEvent.run({
    domain: key.domain,
    event_id: event.event_id,
    key_id: key.key_id,
    name: event.event,
    email: typeof event.email === 'string' ? event.email.toLowerCase() : null,
    value: event.value === undefined ? null : String(event.value),
    currency: typeof event.currency === 'string' ? event.currency : null,
    received_at: Date.now(),
    raw: JSON.stringify(event),
  });
  const status = result.changes === 1 ? 'accepted' : 'duplicate';
  return reply.code(result.changes === 1 ? 202 : 200).send({ status, event_id: event.event_id });
});

const shutdown = () => app.close().then(() => { db.close(); process.exit(0); });
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

app.listen({ host: '127.0.0.1', port: Number(process.env.PORT || 0), backlog: 4096 }).then(() => {
  const { port } = app.server.address();
  console.log(JSON.stringify({ msg: 'listening', address: '127.0.0.1:' + port }));
});
