-- POST /__cc/inbound/batch with 100 new events per request: 200 with "accepted":100.
scenario = "batch100"
dofile((os.getenv("BENCH_DIR") or "bench") .. "/common.lua")
wrk.path = "/__cc/inbound/batch"

local batch_size = tonumber(os.getenv("BENCH_BATCH_SIZE") or "100")

function make_request(n)
  local base = spread_id(thread_id, n)
  local parts = {}
  for i = 0, batch_size - 1 do
    parts[#parts + 1] = string.format(
      '{"event":"purchase","event_id":"%s.%d","email":"customer%d.%d@example.com","value":49.90,' ..
      '"currency":"USD","properties":{"plan":"pro","source":"bench"}}', base, i, n, i)
  end
  return '{"events":[' .. table.concat(parts, ",") .. ']}', base
end

function answered_id(body)
  return body:match('"event_id":"([^"]+)%.%d+"')
end

function accepted_of(status, body)
  if status ~= 200 then return 0 end
  return tonumber(body:match('"accepted":(%d+)') or "0")
end

function expand_id(base)
  local ids = {}
  for i = 0, batch_size - 1 do ids[#ids + 1] = base .. "." .. i end
  return ids
end
