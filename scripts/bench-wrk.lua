-- Each request from its own made-up client address, so the per-client
-- rate limits on patient links (60 opens a minute) measure the page, not
-- the 429 answer. Workers sees the address as cf-connecting-ip.
local n = 0
request = function()
  n = n + 1
  wrk.headers["cf-connecting-ip"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format()
end
