-- status.lua — shared wrk hooks for the identity benchmark (bench/identity/run.sh).
-- Counts every response whose status is not 2xx, per status code, in each wrk thread, and
-- at the end prints one machine-readable line that run.sh parses:
--   BENCH_RESULT requests=N duration_us=N rps=F p50_us=N p99_us=N non2xx=N
--                sock_connect=N sock_read=N sock_write=N sock_timeout=N statuses=CODE:N,...
-- A script that needs per-thread setup (token_issue.lua) defines bench_init(args) before
-- loading this file; it is called from init() before wrk builds the request.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   non2xx = 0
   statuses = {}
   if bench_init then
      bench_init(args)
   end
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      local k = tostring(status)
      statuses[k] = (statuses[k] or 0) + 1
   end
end

function done(summary, latency, requests)
   local bad, codes = 0, {}
   for _, t in ipairs(threads) do
      bad = bad + (t:get("non2xx") or 0)
      for code, n in pairs(t:get("statuses") or {}) do
         codes[code] = (codes[code] or 0) + n
      end
   end
   local list = {}
   for code, n in pairs(codes) do
      table.insert(list, code .. ":" .. n)
   end
   table.sort(list)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d " ..
      "sock_connect=%d sock_read=%d sock_write=%d sock_timeout=%d statuses=%s\n",
      summary.requests, summary.duration, secs > 0 and summary.requests / secs or 0,
      latency:percentile(50), latency:percentile(99), bad,
      e.connect, e.read, e.write, e.timeout, #list > 0 and table.concat(list, ",") or "-"))
end
