-- token_issue.lua — wrk script for POST /identity/v3/auth/tokens with a password body
-- (admin user and project in the Default domain). Usage:
--   wrk ... -s bench/identity/token_issue.lua http://HOST:PORT/identity/v3/auth/tokens -- PASSWORD
-- The password must be JSON-safe (run.sh generates an alphanumeric one). Status counting and
-- the result line come from status.lua beside this file.

function bench_init(args)
   local password = args[1]
   if not password or password == "" then
      error("token_issue.lua: pass the admin password after --")
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = '{"auth":{"identity":{"methods":["password"],"password":{"user":' ..
      '{"name":"admin","domain":{"id":"default"},"password":"' .. password .. '"}}},' ..
      '"scope":{"project":{"name":"admin","domain":{"id":"default"}}}}}'
end

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "status.lua")
