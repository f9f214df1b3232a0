-- wrk script for the tracking benchmark: cycles through pre-signed requests read from a file.
-- Each line of the file is METHOD<TAB>PATH<TAB>BODY (BODY empty for GET).
local requests = {}
local position = 0

function init(args)
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
    if method == "POST" then
      requests[#requests + 1] = wrk.format(method, path, { ["Content-Type"] = "text/plain" }, body)
    elseif method then
      requests[#requests + 1] = wrk.format(method, path)
    end
  end
  -- Threads start at different places so they do not send the same token at the same moment.
  position = math.random(#requests) - 1
end

function request()
  position = position % #requests + 1
  return requests[position]
end
