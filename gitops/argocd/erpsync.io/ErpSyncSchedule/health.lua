-- Argo CD health check for erpsync.io/v1alpha1 ErpSyncSchedule (erp-sync-operator).
--
-- First match wins:
--   1. spec.suspend is true                                        -> Suspended
--   2. Stalled=True, or Healthy=False                              -> Degraded (that condition's message)
--   3. no status or no conditions yet; status.observedGeneration
--      missing, -1 (the CRD default) or behind metadata.generation;
--      or Reconciling=True                                         -> Progressing
--   4. Ready=True                                                  -> Healthy (Ready's message)
--   5. anything else                                               -> Degraded (Ready's message)
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

local hs = {}
local spec = field(obj, "spec")
local status = field(obj, "status")
local generation = tonumber(field(field(obj, "metadata"), "generation"))

if field(spec, "suspend") == true then
  hs.status = "Suspended"
  hs.message = "Every sync of this schedule is suspended (spec.suspend: true); its CronJobs are kept with suspend: true"
  return hs
end

local conditions, hasConditions = conditionsByType(field(status, "conditions"))
local ready = conditions["Ready"]
local reconciling = conditions["Reconciling"]
local stalled = conditions["Stalled"]
local healthy = conditions["Healthy"]

if statusOf(stalled) == "True" then
  hs.status = "Degraded"
  hs.message = messageOf(stalled)
  return hs
end

if statusOf(healthy) == "False" then
  hs.status = "Degraded"
  hs.message = messageOf(healthy)
  return hs
end

if type(status) ~= "table" or not hasConditions then
  hs.status = "Progressing"
  hs.message = "Waiting for the erp-sync operator to handle this schedule (no status conditions yet)"
  return hs
end

local observedGeneration = tonumber(field(status, "observedGeneration"))
if observedGeneration == nil or observedGeneration < 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the erp-sync operator to handle this schedule (no status.observedGeneration yet)"
  return hs
end

if generation ~= nil and observedGeneration < generation then
  hs.status = "Progressing"
  if statusOf(reconciling) == "True" then
    hs.message = "Reconciling generation " .. tostring(generation) .. " (status is for generation "
      .. tostring(observedGeneration) .. "): " .. messageOf(reconciling)
  else
    hs.message = "Waiting for the erp-sync operator to handle generation " .. tostring(generation)
      .. " (status is for generation " .. tostring(observedGeneration) .. ")"
  end
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

if statusOf(ready) == "True" then
  hs.status = "Healthy"
  hs.message = messageOf(ready)
  return hs
end

hs.status = "Degraded"
if ready == nil then
  hs.message = "No Ready condition in status"
else
  hs.message = messageOf(ready)
end
return hs
