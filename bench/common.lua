-- Shared by every wrk scenario script of bench/run.sh (loaded with dofile).
--
-- A scenario script sets, before loading this file:
--   scenario        name printed in the result line
--   make_request(n) -> body, track_id    build the n-th request of this thread;
--                                        track_id (or nil) is remembered until answered
--   answered_id(body) -> id or nil       the track_id a response body answers
--   accepted_of(status, body) -> number  events this response says were newly stored
--
-- Each wrk thread counts, in its own Lua state, the answers by status class, the events
-- the answers say were accepted, and the requests sent but not answered when wrk stopped
-- (their events may be stored without a 2xx having been counted). done() adds the
-- threads' counters up (the setup()/thread table pattern) and prints one line
--   BENCH_RESULT {json}
-- and writes the unanswered ids, one a line, to $BENCH_OUTSTANDING_FILE when set.
-- Environment: BENCH_KEY (X-CC-Api-Key), BENCH_RUN (a tag that makes ids unique per run),
-- BENCH_TRACK=0 to skip id bookkeeping (nginx, 401 path), BENCH_OUTSTANDING_FILE.

local threads = {}
local next_thread = 1

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  api_key = os.getenv("BENCH_KEY") or "cc_missing"
  run_tag = os.getenv("BENCH_RUN") or "r0"
  track = (os.getenv("BENCH_TRACK") or "1") ~= "0"
  sent = 0
  answered = 0
  c2xx = 0
  c202 = 0
  c401 = 0
  c4xx = 0
  c5xx = 0
  cother = 0
  accepted = 0
  outstanding = {}
  outstanding_n = 0
  headers = {
    ["Content-Type"] = "application/json",
    ["X-CC-Api-Key"] = api_key,
  }
end

function request()
  sent = sent + 1
  local body, id = make_request(sent)
  if track and id then
    outstanding[id] = true
    outstanding_n = outstanding_n + 1
  end
  return wrk.format("POST", nil, headers, body)
end

function response(status, hdrs, body)
  answered = answered + 1
  if status >= 200 and status < 300 then
    c2xx = c2xx + 1
    if status == 202 then c202 = c202 + 1 end
  elseif status == 401 then
    c401 = c401 + 1; c4xx = c4xx + 1
  elseif status >= 400 and status < 500 then
    c4xx = c4xx + 1
  elseif status >= 500 then
    c5xx = c5xx + 1
  else
    cother = cother + 1
  end
  accepted = accepted + accepted_of(status, body)
  if track then
    local id = answered_id(body)
    if id and outstanding[id] then
      outstanding[id] = nil
      outstanding_n = outstanding_n - 1
    end
  end
end

local function json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
  local t = { sent = 0, answered = 0, c2xx = 0, c202 = 0, c401 = 0, c4xx = 0, c5xx = 0, cother = 0,
              accepted = 0, outstanding = 0 }
  local file = nil
  local path = os.getenv("BENCH_OUTSTANDING_FILE")
  if path and path ~= "" then file = io.open(path, "w") end
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      if k ~= "outstanding" then t[k] = t[k] + (thread:get(k) or 0) end
    end
    t.outstanding = t.outstanding + (thread:get("outstanding_n") or 0)
    if file then
      local ids = thread:get("outstanding") or {}
      for id, _ in pairs(ids) do
        if expand_id then
          for _, full in ipairs(expand_id(id)) do file:write(full, "\n") end
        else
          file:write(id, "\n")
        end
      end
    end
  end
  if file then file:close() end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local parts = {
    '"scenario":' .. json_string(scenario),
    string.format('"duration_s":%.3f', seconds),
    string.format('"requests":%d', summary.requests),
    string.format('"req_per_s":%.1f', summary.requests / seconds),
    string.format('"latency_mean_ms":%.3f', latency.mean / 1000),
    string.format('"latency_max_ms":%.3f', latency.max / 1000),
    string.format('"p50_ms":%.3f', latency:percentile(50) / 1000),
    string.format('"p90_ms":%.3f', latency:percentile(90) / 1000),
    string.format('"p99_ms":%.3f', latency:percentile(99) / 1000),
    string.format('"p999_ms":%.3f', latency:percentile(99.9) / 1000),
    string.format('"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d',
                  e.connect, e.read, e.write, e.status, e.timeout),
  }
  for _, k in ipairs({ "sent", "answered", "c2xx", "c202", "c401", "c4xx", "c5xx", "cother", "accepted",
                       "outstanding" }) do
    table.insert(parts, string.format('"%s":%d', k, t[k]))
  end
  io.write("BENCH_RESULT {", table.concat(parts, ","), "}\n")
end

-- Spreads ids over the event_id index, as client-chosen ids (UUIDs, CRM ids) are,
-- instead of appending at one end of it.
function spread_id(thread, n)
  local h = (n * 2654435761 + thread * 40503) % 4294967296
  return string.format("%08x-%s-%d-%d", h, run_tag, thread, n)
end
