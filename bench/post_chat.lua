-- wrk script for fake_llm_bench.py: POST the same chat request every time, and print a
-- machine-readable summary (one JSON line starting with "WRKJSON ") when done.
--
-- Optional: env var WRK_MAX_REQUESTS stops each thread after that many responses
-- (used for the memory test; -d still bounds the run in time).

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model": "sim-gpt-large", "messages": [{"role":"user","content":"Summarize paper P0042."}]}'

local max_requests = tonumber(os.getenv("WRK_MAX_REQUESTS") or "0") or 0
local seen = 0
local non200 = 0

function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 then non200 = non200 + 1 end
  if max_requests > 0 and seen >= max_requests then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, ' ..
    '"p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9))
  io.write(out .. "\n")
end
