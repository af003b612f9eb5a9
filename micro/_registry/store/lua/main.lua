-- The operations.

local function changed(entry, registry, maxlen)
  entry.r = registry
  return {'ok', publish(entry, maxlen)}
end

-- ARGV: op, epoch, registry, maxlen, ttl_ms, entry json, host:port (register)
local function op_change()
  local lost = check_epoch(ARGV[2])
  if lost then return {'epoch', lost} end
  local entry = cjson.decode(ARGV[6])
  local now = now_ms()
  local refused
  if OP == 'register' then refused = op_register(entry, ARGV[7], tonumber(ARGV[5]), now)
  elseif OP == 'unregister' then refused = op_unregister(entry)
  elseif OP == 'route+' then refused = op_route_add(entry)
  elseif OP == 'route-' then refused = op_route_remove(entry)
  elseif OP == 'sub+' then refused = op_subscribe(entry)
  elseif OP == 'sub-' then refused = op_unsubscribe(entry)
  elseif OP == 'evict' then
    -- A dropped watch evicts only a node that watches nowhere else now.
    local holder = redis.call('HGET', P .. 'holders', entry.node)
    if val(entry.holder) and holder and holder ~= entry.holder then return {'ok', 0} end
    entry.holder = nil
    evict(entry.node)
  else return err(400, 'unknown change ' .. OP) end
  if refused then return refused end
  return changed(entry, ARGV[3], tonumber(ARGV[4]))
end

-- ARGV: op, epoch, registry, node, ms, node, ms, ...
local function op_renew()
  local lost = check_epoch(ARGV[2])
  if lost then return {'epoch', lost} end
  local now = now_ms()
  for i = 4, #ARGV, 2 do
    renew(ARGV[i], tonumber(ARGV[i + 1]), now)
    redis.call('HSET', P .. 'holders', ARGV[i], ARGV[3])
  end
  return {'ok'}
end

-- ARGV: op, candidate epoch, registry, maxlen, ttl_ms, port, acks json, gap_ms
-- Registry liveness, settle progress, and the reaper, which any registry may
-- run: it takes leases past their deadline, or, when nobody reaped for a
-- while (Redis or every registry was away), first gives every lease ttl more.
local function op_beat()
  local now = now_ms()
  local epoch, new = ensure_epoch(ARGV[2], now)
  local registry, maxlen, ttl = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
  redis.call('ZADD', P .. 'registries', now + 3 * 1000, registry)
  redis.call('HSET', P .. 'regports', registry, ARGV[6])
  redis.call('HSET', P .. 'acks', registry, ARGV[7])
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', P .. 'registries', '-inf', now)) do
    redis.call('ZREM', P .. 'registries', gone)
    redis.call('HDEL', P .. 'regports', gone)
    redis.call('HDEL', P .. 'acks', gone)
  end
  local last = tonumber(redis.call('GET', P .. 'reaped') or '0')
  redis.call('SET', P .. 'reaped', now)
  local reaped = 0
  if now - last > tonumber(ARGV[8]) then
    for _, node in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now + ttl)) do
      redis.call('ZADD', P .. 'leases', now + ttl, node)
    end
  else
    for _, node in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now, 'LIMIT', 0, 256)) do
      evict(node)
      changed({op = 'evict', node = node, why = 'its lease expired'}, '', maxlen)
      reaped = reaped + 1
    end
  end
  -- The feed holds positions position - length + 1 .. position (each change one entry).
  return {'ok', epoch, tonumber(redis.call('GET', P .. 'epoch_at') or '0'), now, new and 1 or 0, reaped,
          tonumber(redis.call('GET', P .. 'position') or '0'), redis.call('XLEN', P .. 'changes')}
end

-- ARGV: op, candidate epoch
local function op_snapshot()
  local now = now_ms()
  local epoch = ensure_epoch(ARGV[2], now)
  local last = redis.call('XREVRANGE', P .. 'changes', '+', '-', 'COUNT', 1)
  return {'ok', epoch, tonumber(redis.call('GET', P .. 'epoch_at') or '0'), now,
          tonumber(redis.call('GET', P .. 'version') or '0'), tonumber(redis.call('GET', P .. 'position') or '0'),
          last[1] and last[1][1] or '0-0',
          redis.call('HGETALL', P .. 'instances'), redis.call('HGETALL', P .. 'routes'),
          redis.call('HGETALL', P .. 'subs')}
end

-- ARGV: op, epoch, host, first port, reserve_ms
local function op_allocate()
  local lost = check_epoch(ARGV[2])
  if lost then return {'epoch', lost} end
  local now = now_ms()
  local host, first, reserve = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
  local bases = set_of(redis.call('HVALS', P .. 'regports'))
  for port = first, 65535 do
    local key = host .. ':' .. port
    local until_ms = tonumber(redis.call('HGET', P .. 'reserved', key) or '0')
    if not bases[tostring(port)] and until_ms <= now and redis.call('HEXISTS', P .. 'used', key) == 0 then
      redis.call('HSET', P .. 'reserved', key, now + reserve)
      if redis.call('HLEN', P .. 'reserved') > 1024 then
        local all = redis.call('HGETALL', P .. 'reserved')
        for i = 1, #all, 2 do
          if tonumber(all[i + 1]) <= now then redis.call('HDEL', P .. 'reserved', all[i]) end
        end
      end
      return {'ok', port}
    end
  end
  return err(503, 'no free port left on ' .. host .. ' from ' .. first)
end

-- ARGV: op, registry: the settle progress of the other live registries.
local function op_others()
  local now = now_ms()
  local out = {'ok'}
  for _, registry in ipairs(redis.call('ZRANGEBYSCORE', P .. 'registries', now, '+inf')) do
    if registry ~= ARGV[2] then
      table.insert(out, redis.call('HGET', P .. 'acks', registry) or '[]')
    end
  end
  return out
end

if OP == 'renew' then return op_renew()
elseif OP == 'beat' then return op_beat()
elseif OP == 'snapshot' then return op_snapshot()
elseif OP == 'allocate' then return op_allocate()
elseif OP == 'others' then return op_others()
else return op_change() end
