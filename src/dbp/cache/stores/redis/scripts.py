"""The Lua scripts: every check-then-act on a lease or an entry runs inside Redis.

Each script touches one entry's keys only (entry, lease, the generations of its
shard), which share a hash tag, so they run unchanged on Redis Cluster.
"""

from __future__ import annotations

__all__ = [
    "ACQUIRE",
    "CURRENT_GENERATION",
    "RELEASE",
    "REPLACE_GENERATION",
    "SET_ENTRY",
    "WRITE_REFUSED_FENCE",
    "WRITE_REFUSED_NEWER",
]

#: Lua: the header (a table) of a stored value whose envelope starts at 1-based ``off``,
#: or nil. Both scripts that read an entry's times start with it.
_HEADER = """
local function header_of(value, off)
  local nl = string.find(value, '\\n', off, true)
  if not nl then return nil end
  local ok, header = pcall(cjson.decode, string.sub(value, off, nl - 1))
  if ok and type(header) == 'table' then return header end
  return nil
end
"""

#: KEYS: lease, generation, owner generation, failure mark, entry.
#: ARGV: token, lease ms, fresh generation, fresh owner generation, "1" to read the owner's,
#: "1" to find, now, 1-based offset of the envelope in a stored value.
#: With "find", an entry whose header says it is fresh at ``now`` is returned as
#: ``{'', '', '', value}`` instead (the re-check and the lock in one round trip).
#: Otherwise takes the lease only if free (never without PX), or already ours (a
#: retry after a reply lost on a dropped connection), and returns the generations
#: the holder's write will be checked against; a missing generation is created from
#: the caller's random candidate (an evicted one never matches an old fence).
#: Busy: ``{0, mark}``; taken: ``{generation, owner generation, mark}``. The failure
#: mark changes when a holder's call fails (see RELEASE): a waiter compares.
ACQUIRE = (
    _HEADER
    + """
if ARGV[6] == '1' then
  local current = redis.call('GET', KEYS[5])
  local header = current and header_of(current, tonumber(ARGV[8]))
  if header and type(header.expires) == 'number' and header.expires > tonumber(ARGV[7]) then
    return {'', '', '', current}
  end
end
local mark = redis.call('GET', KEYS[4]) or ''
if redis.call('GET', KEYS[1]) ~= ARGV[1]
    and not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, mark}
end
local gen = redis.call('GET', KEYS[2])
if not gen then
  gen = ARGV[3]
  redis.call('SET', KEYS[2], gen)
end
local ogen = ''
if ARGV[5] == '1' then
  ogen = redis.call('GET', KEYS[3])
  if not ogen then
    ogen = ARGV[4]
    redis.call('SET', KEYS[3], ogen)
  end
end
return {gen, ogen, mark}
"""
)

#: KEYS: lease, failure mark. ARGV: token, new failure mark ('' = the call succeeded),
#: its PX ms. Compare-and-delete: never releases another holder's lease; a holder
#: whose call failed changes the mark as it lets go, so its waiters call at once.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  if ARGV[2] ~= '' then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  end
  return redis.call('DEL', KEYS[1])
end
return 0
"""

WRITE_REFUSED_FENCE = 0
WRITE_REFUSED_NEWER = -1

#: KEYS: entry, lease, generation, owner generation.
#: ARGV: value, PX ms, created, lease token ('' = unfenced), generation, owner
#: generation ('' = not checked), 1-based offset of the envelope in a stored value.
#: A fenced write lands only if no clear happened since the lease was taken and
#: the lease is still ours or free. Any write is refused if the stored entry is
#: newer (created later) than ours: a late writer never replaces a newer result.
#: A fenced write also releases the lease (compare-and-delete), landed or not:
#: the write and the release in one round trip.
SET_ENTRY = (
    _HEADER
    + """
local holder = redis.call('GET', KEYS[2])
local result = 1
if ARGV[4] ~= '' then
  if redis.call('GET', KEYS[3]) ~= ARGV[5] then result = 0
  elseif ARGV[6] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[6] then result = 0
  elseif holder and holder ~= ARGV[4] then result = 0
  end
  if holder == ARGV[4] then redis.call('DEL', KEYS[2]) end
end
if result == 1 then
  local current = redis.call('GET', KEYS[1])
  local header = current and header_of(current, tonumber(ARGV[7]))
  if header and type(header.created) == 'number' and header.created > tonumber(ARGV[3]) then
    result = -1
  end
end
if result == 1 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return result
"""
)

#: KEYS: the fleet generation. ARGV: a fresh random token.
#: The current generation; a missing one (Redis restarted empty, or evicted) is
#: created from the caller's random token, so it matches no host's remembered one.
CURRENT_GENERATION = """
local gen = redis.call('GET', KEYS[1])
if not gen then
  gen = ARGV[1]
  redis.call('SET', KEYS[1], gen)
end
return gen
"""

#: KEYS: the fleet generation. ARGV: a fresh random token.
#: Replace the generation (a clear happened); returns the one replaced (nil: none).
REPLACE_GENERATION = """
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1])
return old
"""
