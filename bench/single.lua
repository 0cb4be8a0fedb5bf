-- One valid event per request, a new event_id each time: 202 once it is durably stored.
scenario = "single"
dofile((os.getenv("BENCH_DIR") or "bench") .. "/common.lua")

function make_request(n)
  local id = spread_id(thread_id, n)
  return string.format(
    '{"event":"purchase","event_id":"%s","email":"customer%d@example.com","value":49.90,' ..
    '"currency":"USD","properties":{"plan":"pro","source":"bench"}}', id, n), id
end

function answered_id(body)
  return body:match('"event_id":"([^"]+)"')
end

function accepted_of(status, body)
  return status == 202 and 1 or 0
end
