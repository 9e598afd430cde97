-- wrk script for the HTTP rows.
-- WRK_PIPELINE=N (default 1) sends N requests back to back per round trip.
-- Prints one line "WRKJSON {...}" with the counts the harness reads.
local depth = tonumber(os.getenv("WRK_PIPELINE") or "1") or 1

if depth > 1 then
  local batch

  init = function(args)
    local requests = {}
    for i = 1, depth do
      requests[i] = wrk.format()
    end
    batch = table.concat(requests)
  end

  request = function()
    return batch
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
