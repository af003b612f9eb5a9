-- Routes and subscriptions: the same rules as RouteTable and PubSubHub.

local function op_route_add(entry)
  local raw = redis.call('HGET', P .. 'routes', entry.path)
  local previous = raw and cjson.decode(raw)
  local same = previous and previous.s == entry.service and previous.d == entry.dataType
  local owners = {}
  local pinned = false
  if same then
    owners = set_of(previous.o)
    pinned = previous.p
  end
  local node = val(entry.node)
  if node == nil then pinned = true else owners[node] = true end
  local route = {s = entry.service, d = entry.dataType, o = sorted_keys(owners), p = pinned}
  redis.call('HSET', P .. 'routes', entry.path, cjson.encode(route))
  return nil
end

local function op_route_remove(entry)
  local raw = redis.call('HGET', P .. 'routes', entry.path)
  if not raw then return err(404, 'no route is registered at ' .. entry.path) end
  local node = val(entry.node)
  if node == nil then
    redis.call('HDEL', P .. 'routes', entry.path)
    return nil
  end
  local route = cjson.decode(raw)
  local owners = set_of(route.o)
  owners[node] = nil
  route.o = sorted_keys(owners)
  if #route.o > 0 or route.p then
      redis.call('HSET', P .. 'routes', entry.path, cjson.encode(route))
  else
    redis.call('HDEL', P .. 'routes', entry.path)
  end
  return nil
end

local function op_subscribe(entry)
  local inst = instance(entry.location)
  if not inst or inst.n ~= entry.node then
    return err(400, 'cannot subscribe ' .. entry.location .. ': it is not a registered instance of node ' ..
      repr(entry.node) .. "; subscriptions deliver only to the subscriber's own registered instances")
  end
  local field = entry.pattern .. '\n' .. entry.location
  if redis.call('HSETNX', P .. 'subs', field, entry.node) == 1 then
    local raw = redis.call('HGET', P .. 'sublocs', entry.location)
    local patterns = raw and cjson.decode(raw) or {}
    table.insert(patterns, entry.pattern)
    redis.call('HSET', P .. 'sublocs', entry.location, cjson.encode(patterns))
  end
  return nil
end

local function op_unsubscribe(entry)
  local field = entry.pattern .. '\n' .. entry.location
  if redis.call('HDEL', P .. 'subs', field) == 0 then
    return err(404, entry.location .. ' has no subscription to channel ' .. repr(entry.pattern))
  end
  local patterns = cjson.decode(redis.call('HGET', P .. 'sublocs', entry.location))
  local kept = {}
  for _, pattern in ipairs(patterns) do
    if pattern ~= entry.pattern then table.insert(kept, pattern) end
  end
  keep_or_drop('sublocs', entry.location, kept, #kept > 0)
  return nil
end
