counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"event":"purchase","event_id":"%d-%d-%d","email":"c@example.com","value":49.90,"currency":"USD","properties":{"plan":"pro","source":"bench"}}', math.random(1e9), os.time(), counter)
  return wrk.format("POST", "/__cc/inbound", {["Content-Type"]="application/json", ["X-CC-Api-Key"]=""}, body)
end
