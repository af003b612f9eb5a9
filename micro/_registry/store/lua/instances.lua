-- Instances, their nodes, the ports they hold and the subscriptions that
-- hang on them.

local function instance(location)
  local raw = redis.call('HGET', P .. 'instances', location)
  if not raw then return nil end
  return cjson.decode(raw)
end

-- A location's subscriptions end with it (or when it moves to another node).
local function drop_subscriptions(location)
  local raw = redis.call('HGET', P .. 'sublocs', location)
  if not raw then return end
  for _, pattern in ipairs(cjson.decode(raw)) do
    redis.call('HDEL', P .. 'subs', pattern .. '\n' .. location)
  end
  redis.call('HDEL', P .. 'sublocs', location)
end

local function remove_instance(location, inst)
  redis.call('INCR', P .. 'version')
  redis.call('HDEL', P .. 'instances', location)
  redis.call('SREM', P .. 'nodes:' .. inst.n, location)
  if redis.call('HINCRBY', P .. 'used', inst.h, -1) <= 0 then redis.call('HDEL', P .. 'used', inst.h) end
  drop_subscriptions(location)
end

local function op_register(entry, hostport, ttl_ms, now)
  local service, location = entry.service, entry.location
  local node = val(entry.node) or location
  local inst = instance(location)
  if inst and inst.s ~= service then
    return err(409, location .. ' already hosts service ' .. repr(inst.s))
  end
  renew(node, ttl_ms, now)
  if inst then
    if inst.n ~= node then
      redis.call('SREM', P .. 'nodes:' .. inst.n, location)
      redis.call('SADD', P .. 'nodes:' .. node, location)
      inst.n = node
      redis.call('HSET', P .. 'instances', location, cjson.encode(inst))
      drop_subscriptions(location)
    end
    return nil
  end
  local version = redis.call('INCR', P .. 'version')
  redis.call('HSET', P .. 'instances', location, cjson.encode({s = service, n = node, o = version, h = hostport}))
  redis.call('SADD', P .. 'nodes:' .. node, location)
  redis.call('HINCRBY', P .. 'used', hostport, 1)
  redis.call('HDEL', P .. 'reserved', hostport)
  return nil
end

local function op_unregister(entry)
  local inst = instance(entry.location)
  if not inst or inst.s ~= entry.service then
    return err(404, 'no instance of ' .. repr(entry.service) .. ' is registered at ' .. entry.location)
  end
  remove_instance(entry.location, inst)
  return nil
end

local function release_routes(node)
  local all = redis.call('HGETALL', P .. 'routes')
  for i = 1, #all, 2 do
    local route = cjson.decode(all[i + 1])
    local owners = set_of(route.o)
    if owners[node] then
      owners[node] = nil
      route.o = sorted_keys(owners)
      keep_or_drop('routes', all[i], route, #route.o > 0 or route.p)
    end
  end
end

-- A node goes with everything it held.
local function evict(node)
  local locations = redis.call('SMEMBERS', P .. 'nodes:' .. node)
  for _, location in ipairs(locations) do
    local inst = instance(location)
    if inst then remove_instance(location, inst) end
  end
  redis.call('DEL', P .. 'nodes:' .. node)
  release_routes(node)
  redis.call('ZREM', P .. 'leases', node)
  redis.call('HDEL', P .. 'holders', node)
end
