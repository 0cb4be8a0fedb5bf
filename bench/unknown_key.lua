-- A well-formed key with a valid checksum that was never issued: 401 invalid_api_key,
-- after the checksum, the SHA-256 and the index lookup; nothing is read or stored.
scenario = "unknown_key"
dofile((os.getenv("BENCH_DIR") or "bench") .. "/common.lua")

function make_request(n)
  return string.format(
    '{"event":"purchase","event_id":"%s","email":"customer%d@example.com","value":49.90,' ..
    '"currency":"USD","properties":{"plan":"pro","source":"bench"}}', spread_id(thread_id, n), n), nil
end

function answered_id(body) return nil end

function accepted_of(status, body) return status == 202 and 1 or 0 end
