-- The same event_id on every request: the first is stored (202), every other one is
-- answered 200 "duplicate" and stores nothing.
scenario = "duplicate"
dofile((os.getenv("BENCH_DIR") or "bench") .. "/common.lua")

function make_request(n)
  return '{"event":"purchase","event_id":"dup-' .. run_tag .. '","email":"customer@example.com",' ..
         '"value":49.90,"currency":"USD","properties":{"plan":"pro","source":"bench"}}', nil
end

function answered_id(body) return nil end

function accepted_of(status, body)
  return status == 202 and 1 or 0
end
