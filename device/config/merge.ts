/**
 * primary ⊕ secondary: the settings in effect. Each key the secondary sets replaces the primary's whole value —
 * except `sysctl`, merged by setting name (the secondary wins), so a secondary can tune one setting without
 * repeating the firmware's others. Network interfaces are not merged: a list of interfaces is one decision.
 */
import type { DeviceSettings } from '../contract/boot-config.ts';
import type { Secondary } from '../contract/config/secondary-schema.ts';

export function mergeSettings(primary: DeviceSettings, secondary: Secondary): DeviceSettings {
  const merged: DeviceSettings = { ...primary };
  if (secondary.hostname !== undefined) merged.hostname = secondary.hostname;
  if (secondary.network !== undefined) merged.network = secondary.network;
  if (secondary.time !== undefined) merged.time = secondary.time;
  if (secondary.log !== undefined) merged.log = secondary.log;
  if (secondary.sysctl !== undefined) merged.sysctl = { ...primary.sysctl, ...secondary.sysctl };
  if (secondary.api !== undefined) merged.api = secondary.api;
  if (secondary.containers !== undefined) merged.containers = secondary.containers;
  if (secondary.registries !== undefined) merged.registries = secondary.registries;
  if (secondary.update !== undefined) merged.update = secondary.update;
  return merged;
}

/** The keys a secondary sets, in schema order, for the log ("sets hostname, sysctl"). */
export function keysSet(secondary: Secondary): string[] {
  return Object.keys(secondary).filter((key) => secondary[key as keyof Secondary] !== undefined);
}
