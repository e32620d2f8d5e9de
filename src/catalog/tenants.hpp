/*
 * tenants.hpp: per-tenant retention periods (retention.set_tenant_retain / reset_tenant_retain).
 *
 * An override replaces the policy's retain for the rows whose tenant_column equals the tenant.
 * Overrides stay within the policy's min_retain / max_retain; each change is recorded in
 * retention.policy_changes (setting 'retain', tenant set) and makes a new policy version.
 */
#pragma once

#include "catalog/policy_store.hpp"
#include "pg/postgres.hpp"

namespace retention::catalog
{

void SetTenantRetain(const char *policy_name, const char *tenant, const Interval *retain);
void ResetTenantRetain(const char *policy_name, const char *tenant);

/*
 * Raises 22023, naming the tenants, when an override of policy `policy_id` would fall outside
 * the bounds of `after` (alter_policy changing min_retain / max_retain). Needs SPI, as the
 * extension's owner.
 */
void CheckOverridesWithinBounds(int64 policy_id, const char *policy_name, const PolicyInput *after);

/*
 * Raises 22023, naming a tenant, when the grace and timezone of `after` would put the cutoff of
 * an override of policy `policy_id` out of the timestamp range (see cutoff_range.hpp). Needs
 * SPI.
 */
void CheckOverrideCutoffs(int64 policy_id, const char *policy_name, const PolicyInput *after);

} // namespace retention::catalog
