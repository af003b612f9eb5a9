-- The shared state of a micro cluster (see micro/_registry/store/redis_keys.py).
-- One script: ARGV[1] names the operation, KEYS[1] is the key prefix
-- ("micro:{cluster}:": one hash tag, so every key sits in one slot).
-- Replies: {"ok", ...}, {"err", status, message}, or {"epoch", current}
-- when the caller's epoch is not the store's (the state was lost, or
-- replaced): the caller then reloads its view.
local P = KEYS[1]
local OP = ARGV[1]
local NULL = cjson.null

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function val(x)
  if x == NULL then return nil end
  return x
end

-- Python's repr() of a plain string, for messages that match the memory store's.
local function repr(s)
  if string.find(s, "'", 1, true) and not string.find(s, '"', 1, true) then
    return '"' .. s .. '"'
  end
  return "'" .. string.gsub(string.gsub(s, "\\", "\\\\"), "'", "\\'") .. "'"
end

local function err(status, message)
  return {'err', status, message}
end

local function set_of(list)
  local s = {}
  for _, x in ipairs(list) do s[x] = true end
  return s
end

local function sorted_keys(s)
  local out = {}
  for k, _ in pairs(s) do table.insert(out, k) end
  table.sort(out)
  return out
end

-- Keep a hash field while it holds something, drop it when it does not.
local function keep_or_drop(hash, field, value, keep)
  if keep then
    redis.call('HSET', P .. hash, field, cjson.encode(value))
  else
    redis.call('HDEL', P .. hash, field)
  end
end

-- The epoch the state belongs to; a missing one means the state was lost:
-- whoever notices first starts a new epoch with its candidate id.
local function ensure_epoch(candidate, now)
  local current = redis.call('GET', P .. 'epoch')
  if current then return current, false end
  local keys = redis.call('KEYS', P .. '*')
  for _, key in ipairs(keys) do
    if key ~= P .. 'registries' and key ~= P .. 'regports' then redis.call('DEL', key) end
  end
  redis.call('SET', P .. 'epoch', candidate)
  redis.call('SET', P .. 'epoch_at', now)
  redis.call('SET', P .. 'reaped', now)
  return candidate, true
end

local function check_epoch(epoch)
  local current = redis.call('GET', P .. 'epoch')
  if current ~= epoch then return current or '' end
  return nil
end

-- Append one change to the feed; every change moves the position on.
local function publish(entry, maxlen)
  entry.p = redis.call('INCR', P .. 'position')
  entry.v = tonumber(redis.call('GET', P .. 'version') or '0')
  entry.ep = redis.call('GET', P .. 'epoch')
  redis.call('XADD', P .. 'changes', 'MAXLEN', '~', maxlen, '*', 'e', cjson.encode(entry))
  return entry.p
end

-- Leases: the later of the current deadline and now + ms.
local function renew(node, ms, now)
  local deadline = now + ms
  local current = tonumber(redis.call('ZSCORE', P .. 'leases', node) or '0')
  if current < deadline then redis.call('ZADD', P .. 'leases', deadline, node) end
end
