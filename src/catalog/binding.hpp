/*
 * binding.hpp: binding a policy's expressions again by name after pg_dump / pg_restore.
 *
 * The analysed trees in _retention.policy (trigger_bin, keep_when_bin, anonymize_bin) bind
 * columns by number and functions, operators and relations by OID: exact within a database,
 * meaningless in a restored one. Beside them each policy keeps, in `binding`, its expressions
 * deparsed with current names (every name qualified, the relation called BINDING_ALIAS) and a
 * fingerprint of what they refer to: each column as name, type and position among the live
 * columns; each user function as its signature and a digest of its definition. The other
 * relations the expressions read are kept in `binding_relations` (regclass[]: pg_dump writes
 * their current names). Both are refreshed whenever the trees are used in the database they
 * were made in (relid_oid = relid).
 *
 * A restore is recognised by relid (regclass, dumped by name) no longer being relid_oid. The
 * texts are then parsed again as the relation's owner, and the result is accepted only if its
 * fingerprint equals the stored one and it reads exactly the relations of binding_relations;
 * otherwise (a name no longer resolves, a column changed type or position, a function changed,
 * a renamed object left another one under the old name) the policy fails with an error and
 * binds to nothing.
 */
#pragma once

#include "pg/postgres.hpp"

namespace retention::catalog
{

/* A policy's stored trees, as PrepareTarget uses them (text; anonymize_bin: jsonb as text). */
struct StoredTrees
{
	char *trigger_bin;
	char *keep_when_bin;
	char *anonymize_bin;
};
static_assert(std::is_trivially_destructible_v<StoredTrees>,
              "StoredTrees lives in frames that call the backend");

/*
 * Makes policy `id`'s trees fit relation `relid` (its relid column, opened by nobody): after a
 * restore, re-binds them by name and replaces *trees; otherwise refreshes the stored binding
 * when it is stale. Stores the result unless the transaction is read-only. Needs SPI.
 * Raises an error naming the policy when the policy cannot be bound again.
 */
void BindPolicy(int64 id, const char *name, Oid relid, Oid owner, StoredTrees *trees);

/*
 * BindPolicy for policy `id` with its stored trees (add_policy, alter_policy, the upgrade from
 * 0.1.0): does nothing when its relation no longer exists. Needs SPI.
 */
void BindStoredPolicy(int64 id);

} // namespace retention::catalog
