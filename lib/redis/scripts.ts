// The Lua scripts of the Redis session store: each runs atomically on the server, over the three
// keys of one session (its record, its replay log, its lockout), which share one hash tag so they
// live on one Redis Cluster slot. Sequence numbers stay far below 2^53, exact in Lua's doubles.

/** ARGV: token hash, identity, ttl. A new session: epoch 1, nothing sent or received. */
export const CREATE = `
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'tok', ARGV[1], 'ptok', '', 'epoch', 1, 'sent', 0, 'recv', 0, 'ident', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 'ok'
`;

/**
 * ARGV: presented token hash, next token hash, the client's received, lockout ms, ttl, the epoch
 * the caller holds (or -1). Check-and-rotate: the token (current or previous) is checked, rotated
 * and the epoch bumped in one step. The replay log is returned unless the caller's copy is current.
 */
export const CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'locked'} end
local s = redis.call('HMGET', KEYS[1], 'tok', 'ptok', 'epoch', 'sent', 'recv', 'ident')
if ARGV[1] ~= s[1] and (s[2] == '' or ARGV[1] ~= s[2]) then
  if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[3], '1', 'PX', ARGV[4]) end
  return {'bad-token'}
end
local sent = tonumber(s[4])
local received = tonumber(ARGV[3])
if received > sent then return {'ahead', sent} end
local first = sent - redis.call('LLEN', KEYS[2]) + 1
if received < first - 1 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return {'gap', first}
end
if received >= first then redis.call('LTRIM', KEYS[2], received - first + 1, -1) end
local epoch = tonumber(s[3]) + 1
redis.call('HSET', KEYS[1], 'tok', ARGV[2], 'ptok', ARGV[1], 'epoch', epoch)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
local frames = {}
if tonumber(ARGV[6]) ~= epoch - 1 then frames = redis.call('LRANGE', KEYS[2], 0, -1) end
return {'claimed', epoch, sent, tonumber(s[5]), s[6], frames}
`;

/**
 * ARGV: epoch, ttl, seq of the first frame (0 without frames), acked (-1: none), received (-1:
 * none), settled (1: the previous token retires), then the frames. Refused under a stale epoch.
 * Idempotent: a client library that resends a command after a reconnect (ioredis does) may run
 * it twice, so frames at or below the stored `sent` are taken as kept already.
 */
export const WRITE = `
local s = redis.call('HMGET', KEYS[1], 'epoch', 'sent', 'recv')
if not s[1] then return 'gone' end
if s[1] ~= ARGV[1] then return 'fenced' end
local sent = tonumber(s[2])
local count = #ARGV - 6
if count > 0 then
  local first = tonumber(ARGV[3])
  if first > sent + 1 then return 'corrupt' end
  -- A batch sent again (its reply was lost in a reconnect): the frames already kept are skipped.
  local from = 7 + (sent + 1 - first)
  for i = from, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  if first + count - 1 > sent then
    sent = first + count - 1
    redis.call('HSET', KEYS[1], 'sent', sent)
  end
end
local acked = tonumber(ARGV[4])
if acked >= 0 then
  local first = sent - redis.call('LLEN', KEYS[2]) + 1
  if acked >= first then redis.call('LTRIM', KEYS[2], acked - first + 1, -1) end
end
local received = tonumber(ARGV[5])
if received > tonumber(s[3]) then redis.call('HSET', KEYS[1], 'recv', received) end
if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'ptok', '') end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 'ok'
`;

/** ARGV: epoch, ttl. Keeps a session this process still holds. */
export const TOUCH = `
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 'skipped' end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 'ok'
`;

/** ARGV: epoch. Forgets a session unless another process claimed it since. */
export const REMOVE = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch and tonumber(epoch) > tonumber(ARGV[1]) then return 'fenced' end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 'ok'
`;
