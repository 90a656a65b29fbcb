-- Argo CD health check for erpsync.io/v1alpha1 ErpSyncSchedule (erp-sync-operator).
--
-- The generation first: a status speaks only for the generation in status.observedGeneration.
-- First match wins:
--   1. no status or no conditions yet                              -> Progressing
--   2. status.observedGeneration missing, -1 (the CRD default) or
--      behind metadata.generation                                  -> Progressing (Reconciling's message
--                                                                     when the operator wrote one for this
--                                                                     generation, e.g. a failing call)
--   For the observed generation:
--   3. Stalled=True (an invalid spec, or the operator Forbidden)   -> Degraded (Stalled's message)
--   4. every scheduled sync suspended (status.syncs.*.suspended)   -> Suspended
--   5. Reconciling=True                                            -> Progressing
--   6. Ready not True                                              -> Degraded (Ready's message)
--   7. Healthy=False (a failed or overdue run)                     -> Degraded (Healthy's message)
--   8. otherwise                                                   -> Healthy (Ready's message)
--
-- Argo CD runs custom checks in gopher-lua (Lua 5.1) with only the base, package and table
-- libraries unless useOpenLibs is set (util/lua/lua.go): no string, math, io or os. So this script
-- uses base functions only, and no string methods. It never raises: any level of `obj` may be
-- missing or of an unexpected type.

local function field(value, key)
  if type(value) == "table" then
    return value[key]
  end
  return nil
end

local function text(value)
  if value == nil or type(value) == "table" then
    return ""
  end
  return tostring(value)
end

-- The conditions by type (the first of each type), ignoring malformed entries.
local function conditionsByType(conditions)
  local byType = {}
  if type(conditions) ~= "table" then
    return byType, false
  end
  local any = false
  for _, condition in ipairs(conditions) do
    local conditionType = field(condition, "type")
    if type(conditionType) == "string" and byType[conditionType] == nil then
      byType[conditionType] = condition
      any = true
    end
  end
  return byType, any
end

local function statusOf(condition)
  return text(field(condition, "status"))
end

-- The condition's message, or a sentence naming its type, status and reason when it has none.
local function messageOf(condition)
  local message = text(field(condition, "message"))
  if message ~= "" then
    return message
  end
  local conditionStatus = statusOf(condition)
  if conditionStatus == "" then
    conditionStatus = "not set"
  end
  message = text(field(condition, "type")) .. " is " .. conditionStatus
  local reason = text(field(condition, "reason"))
  if reason ~= "" then
    message = message .. " (reason " .. reason .. ")"
  end
  return message
end

-- The syncs in the order the operator lists them (pairs() has no order).
local SYNCS = {"vendors", "jobs", "jobCosts", "invoicePayments"}

-- The scheduled syncs (a sync that is Never has no schedule) when every one is suspended, else nil.
local function everySyncSuspended(syncs)
  local names = ""
  for _, name in ipairs(SYNCS) do
    local sync = field(syncs, name)
    local schedule = field(sync, "schedule")
    if type(schedule) == "string" and schedule ~= "" then
      if field(sync, "suspended") ~= true then
        return nil
      end
      if names ~= "" then
        names = names .. ", "
      end
      names = names .. name
    end
  end
  if names == "" then
    return nil
  end
  return names
end

-- Whether a condition was written for `generation` (or later), by its own observedGeneration.
local function isOf(condition, generation)
  local written = tonumber(field(condition, "observedGeneration"))
  return generation == nil or written == nil or written >= generation
end

local hs = {}
local status = field(obj, "status")
local generation = tonumber(field(field(obj, "metadata"), "generation"))

local conditions, hasConditions = conditionsByType(field(status, "conditions"))
local ready = conditions["Ready"]
local reconciling = conditions["Reconciling"]
local stalled = conditions["Stalled"]
local healthy = conditions["Healthy"]

if type(status) ~= "table" or not hasConditions then
  hs.status = "Progressing"
  hs.message = "Waiting for the erp-sync operator to handle this schedule (no status conditions yet)"
  return hs
end

local observedGeneration = tonumber(field(status, "observedGeneration"))
if observedGeneration ~= nil and observedGeneration < 0 then
  observedGeneration = nil
end
if observedGeneration == nil or (generation ~= nil and observedGeneration < generation) then
  hs.status = "Progressing"
  local which = "this schedule"
  if generation ~= nil then
    which = "generation " .. tostring(generation)
  end
  local seen = "no status.observedGeneration yet"
  if observedGeneration ~= nil then
    seen = "status is for generation " .. tostring(observedGeneration)
  end
  if statusOf(reconciling) == "True" and isOf(reconciling, generation) then
    hs.message = "Reconciling " .. which .. " (" .. seen .. "): " .. messageOf(reconciling)
  else
    hs.message = "Waiting for the erp-sync operator to handle " .. which .. " (" .. seen .. ")"
  end
  return hs
end

if statusOf(stalled) == "True" then
  hs.status = "Degraded"
  hs.message = messageOf(stalled)
  return hs
end

local suspended = everySyncSuspended(field(status, "syncs"))
if suspended ~= nil then
  hs.status = "Suspended"
  hs.message = "Every scheduled sync is suspended (" .. suspended .. "); their CronJobs are kept with suspend: true"
  return hs
end

if statusOf(reconciling) == "True" then
  hs.status = "Progressing"
  local reason = text(field(reconciling, "reason"))
  if reason == "" then
    reason = "Reconciling"
  end
  hs.message = reason .. ": " .. messageOf(reconciling)
  return hs
end

if statusOf(ready) ~= "True" then
  hs.status = "Degraded"
  if ready == nil then
    hs.message = "No Ready condition in status"
  else
    hs.message = messageOf(ready)
  end
  return hs
end

if statusOf(healthy) == "False" then
  hs.status = "Degraded"
  hs.message = messageOf(healthy)
  return hs
end

hs.status = "Healthy"
hs.message = messageOf(ready)
return hs
