#!/usr/bin/env bash
# The retention demo: a contact-centre database with ~175,000 rows of personal data, retention
# policies taken from real published rules (per-tenant periods within bounds, an anonymisation, a
# partitioned table), a legal hold, one purge, proof that it removed exactly the rows that had
# expired - no more, no fewer - and a data-subject request (export and erasure).
#
#   sudo bash demo/run.sh        (as root, on Debian 12; installs PostgreSQL 15 if missing)
#
# Environment: RETENTION_KEEP_TMP=1 keeps the throwaway cluster directory for inspection.
# Exit status: 0 when every count matches and the audit chain verifies, 1 otherwise.

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../scripts/lib.sh
source "$DEMO_DIR/../scripts/lib.sh"

# Every session (data generation, policies, hand counts) uses the same time zone, so calendar
# arithmetic ("6 months") is the same everywhere; the policies record it as their time zone.
export PGTZ=UTC

if [ -t 1 ]; then
	BOLD=$'\033[1m' DIM=$'\033[2m' RESET=$'\033[0m'
else
	BOLD='' DIM='' RESET=''
fi

# heading TITLE [EXPLANATION LINE...]
heading()
{
	printf '\n%s━━ %s%s\n' "$BOLD" "$1" "$RESET"
	shift
	local line
	for line in "$@"; do
		printf '%s   %s%s\n' "$DIM" "$line" "$RESET"
	done
	echo
}

# sql [psql args...]: a quiet psql on the demo database; stops at the first error.
sql()
{
	psql -X -q -v ON_ERROR_STOP=1 -d demo -P footer=off -P null='-' "$@"
}

# elapsed START: seconds since START (an $EPOCHREALTIME value), with milliseconds.
elapsed()
{
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'
}

# value QUERY: one value, unaligned.
value()
{
	psql -X -q -v ON_ERROR_STOP=1 -d demo -At -c "$1"
}

# shellcheck disable=SC2119 # no extra packages
install_packages
build_and_install
# The background worker would run every new policy at once ("a new policy is due at once"),
# possibly between the hand count and our own run. The demo switches it off so that the single
# CALL retention.run() below is the only purge; in production leave retention.enabled on.
start_cluster "retention.enabled = off"

on_exit()
{
	local rc=$?
	set +e # errexit would end this trap before the cluster is stopped
	if [ "$rc" -ne 0 ] && [ -n "${RETENTION_TMP:-}" ] && [ -f "$RETENTION_TMP/server.log" ]; then
		echo
		echo "--- last lines of the server log ($RETENTION_TMP/server.log)"
		tail -n 40 "$RETENTION_TMP/server.log" || true
	fi
	(exit "$rc")
	stop_cluster # reads $? as the exit status to keep
	exit "$rc"
}
trap on_exit EXIT

started=$EPOCHREALTIME

heading "1. A contact-centre database" \
	"createdb demo; CREATE EXTENSION retention; then demo/schema.sql (tables) and demo/data.sql" \
	"(deterministic rows spread over the last two years). Each table holds one kind of personal" \
	"data that the platform promised its customers to keep only for a limited time."
createdb demo
sql -c "CREATE EXTENSION retention"
load_start=$EPOCHREALTIME
sql -f "$DEMO_DIR/schema.sql"
sql -f "$DEMO_DIR/data.sql"
echo "data loaded in $(elapsed "$load_start") s"
echo
sql <<'SQL'
\pset title 'rows per table'
SELECT "table", "rows", oldest, "dated by" FROM (
          SELECT 1 AS ord, 'customer_profiles' AS "table", count(*) AS "rows", min(last_activity_at)::date AS oldest, 'last_activity_at' AS "dated by" FROM customer_profiles
UNION ALL SELECT 2, 'conversations', count(*), min(started_at)::date, 'started_at' FROM conversations
UNION ALL SELECT 3, 'messages', count(*), min(sent_at)::date, 'sent_at' FROM messages
UNION ALL SELECT 4, 'chat_media', count(*), min(received_at)::date, 'received_at' FROM chat_media
UNION ALL SELECT 5, 'email_content', count(*), min(coalesce(scheduled_at, sent_at))::date, 'coalesce(scheduled_at, sent_at)' FROM email_content
UNION ALL SELECT 6, 'call_detail_records', count(*), min(call_started_at)::date, 'call_started_at' FROM call_detail_records
UNION ALL SELECT 7, 'webhook_deliveries', count(*), min(delivered_at)::date, 'delivered_at' FROM webhook_deliveries
) AS t ORDER BY ord;
SQL

heading "2. Retention policies" \
	"demo/policies.sql declares one DELETE policy per table with retention.add_policy(); the" \
	"comments there cite the published rule each one implements. Lowest priority runs first:" \
	"media before the conversations they belong to, customer profiles last."
sql -f "$DEMO_DIR/policies.sql" -o /dev/null
sql <<'SQL'
\pset title 'retention.policies'
SELECT name, relation, trigger, retain, grace, max_retain, run_every, priority,
       keep_when IS NOT NULL AS has_keep_when
FROM retention.policies ORDER BY priority, name;
SQL

heading "2b. Tenant periods within bounds" \
	"Wingtip Insurance (tenant 5) chose 400 days for its call data (policies.sql). Contoso Bank" \
	"(tenant 2) now asks to keep chat media 60 days: the seeds say media may not be kept past 30" \
	"days, so max_retain refuses it. Every change is on record in retention.policy_changes."
sql <<'SQL'
DO $$
BEGIN
    PERFORM retention.set_tenant_retain('chat_media', '2', '60 days');
    RAISE EXCEPTION 'the 60-day request was accepted';
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'refused (SQLSTATE %): %', SQLSTATE, SQLERRM;
END
$$;
\pset title 'retention.policy_changes (tenant periods)'
SELECT policy_name, tenant, setting, old_value, new_value, direction, policy_version
FROM retention.policy_changes WHERE tenant IS NOT NULL ORDER BY changed_at;
SQL

heading "2c. A legal hold" \
	"Tailspin Airlines (tenant 4) is in litigation: its conversations (and their messages) must" \
	"not be deleted while the hold lasts, whatever their age."
sql <<'SQL'
SELECT retention.place_hold('litigation: Tailspin Airlines v. customer', policy_name => 'conversations',
                            tenant => '4') AS hold_id;
\pset title 'retention.holds'
SELECT id, reason, policy_name, relation, tenant, placed_by FROM retention.holds;
SQL

heading "3. Expected: expired rows counted by hand, BEFORE the purge" \
	"Plain SQL that does not use the extension: a row is expired when its trigger value is" \
	"older than (now - grace) - retain (the tenant's own period where it has one), keep_when" \
	"does not keep it and no hold covers it. These are the numbers the purge must reach." \
	"Messages have no policy: they go with their conversation (cascade). The phone-number line" \
	"counts rows to anonymise (before / after: rows that still carry a phone number)."
sql <<'SQL'
CREATE TABLE demo_expected (
    policy    text PRIMARY KEY,
    relation  text NOT NULL,
    ord       int NOT NULL,       -- display order: the policies' priority
    rule      text NOT NULL,
    before    bigint NOT NULL,
    expected  bigint NOT NULL,
    preview   bigint,
    purged    bigint,
    batches   bigint,
    after     bigint
);
INSERT INTO demo_expected (policy, relation, ord, rule, before, expected) VALUES
('chat_media', 'chat_media', 10,
 'received_at < now() - 30 days',
 (SELECT count(*) FROM chat_media),
 (SELECT count(*) FROM chat_media WHERE received_at < now() - interval '30 days')),
('email_content', 'email_content', 20,
 'coalesce(scheduled_at, sent_at) < now() - 7 days',
 (SELECT count(*) FROM email_content),
 (SELECT count(*) FROM email_content WHERE coalesce(scheduled_at, sent_at) < now() - interval '7 days')),
('conversations', 'conversations', 30,
 'started_at < now() - 6 months, not held (tenant 4)',
 (SELECT count(*) FROM conversations),
 (SELECT count(*) FROM conversations WHERE started_at < now() - interval '6 months' AND tenant_id <> 4)),
('(cascade)', 'messages', 31,
 'its conversation started_at < now() - 6 months, not held (tenant 4)',
 (SELECT count(*) FROM messages),
 (SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
  WHERE c.started_at < now() - interval '6 months' AND c.tenant_id <> 4)),
('cdr_phone_numbers', 'call_detail_records', 35,
 'call_started_at < (now() - 2 hours) - 12 months, a number still present: anonymise',
 (SELECT count(*) FROM call_detail_records WHERE caller_number IS NOT NULL OR callee_number IS NOT NULL),
 (SELECT count(*) FROM call_detail_records
  WHERE call_started_at < (now() - interval '2 hours') - interval '12 months'
    AND (caller_number IS NOT NULL OR callee_number IS NOT NULL))),
('call_detail_records', 'call_detail_records', 40,
 'call_started_at < (now() - 2 hours) - 24 months (tenant 5: 400 days)',
 (SELECT count(*) FROM call_detail_records),
 (SELECT count(*) FROM call_detail_records
  WHERE call_started_at < (now() - interval '2 hours')
                          - CASE tenant_id WHEN 5 THEN interval '400 days' ELSE interval '24 months' END)),
('webhook_deliveries', 'webhook_deliveries', 45,
 'delivered_at < (now() - 2 hours) - 90 days',
 (SELECT count(*) FROM webhook_deliveries),
 (SELECT count(*) FROM webhook_deliveries
  WHERE delivered_at < (now() - interval '2 hours') - interval '90 days')),
('customer_profiles', 'customer_profiles', 90,
 'least(terminated_at, last_activity_at + 18 months) < now() - 30 days, no open conversation',
 (SELECT count(*) FROM customer_profiles),
 (SELECT count(*) FROM customer_profiles p
  WHERE least(p.terminated_at, p.last_activity_at + interval '18 months') < now() - interval '30 days'
    AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.customer_id = p.id AND c.status <> 'closed')));

\pset title 'expired rows, counted by hand'
SELECT relation, rule AS "expired when", before AS "rows now", expected AS "expired"
FROM demo_expected ORDER BY ord;

\pset title 'customer profiles in detail'
SELECT count(*) FILTER (WHERE terminated_at IS NOT NULL) AS "terminated",
       count(*) FILTER (WHERE terminated_at IS NULL
                          AND last_activity_at < now() - interval '18 months') AS "inactive > 18 months",
       count(*) FILTER (WHERE least(terminated_at, last_activity_at + interval '18 months')
                              < now() - interval '30 days') AS "past the 30 days",
       count(*) FILTER (WHERE least(terminated_at, last_activity_at + interval '18 months')
                              < now() - interval '30 days'
                          AND EXISTS (SELECT 1 FROM conversations c
                                      WHERE c.customer_id = p.id AND c.status <> 'closed'))
           AS "of which kept: open conversation"
FROM customer_profiles p;

\pset title 'email content in detail'
SELECT count(*) FILTER (WHERE scheduled_at IS NULL AND sent_at IS NULL) AS "drafts (no countdown yet)",
       count(*) FILTER (WHERE scheduled_at > now()) AS "scheduled in the future",
       count(*) FILTER (WHERE scheduled_at <= now()) AS "sent at a scheduled date"
FROM email_content;
SQL

heading "4. retention.preview(): what a run would remove now" \
	"The extension's own forecast, computed without changing anything. It should match the" \
	"hand count above; rows_held counts the rows the legal hold keeps."
sql <<'SQL'
\pset title 'SELECT * FROM retention.preview()'
SELECT p.* FROM retention.preview() p JOIN retention.policies r ON r.name = p.policy ORDER BY r.priority;
UPDATE demo_expected d SET preview = p.rows_expired FROM retention.preview() p WHERE p.policy = d.policy;
SQL

heading "5. CALL retention.run()" \
	"Runs every enabled policy once, in priority order, deleting in batches that each commit" \
	"on their own together with their audit row."
run_start=$EPOCHREALTIME
sql -c "CALL retention.run()"
echo "purge finished in $(elapsed "$run_start") s"

heading "6. retention.audit: one row per run of a policy" \
	"What auditors read: when each policy ran, under which policy version and cutoff, how many" \
	"rows it removed in how many units of work (batches), and whether it succeeded."
sql <<'SQL'
\pset title 'retention.audit'
SELECT policy_name, cutoff, units AS batches, rows_affected, rows_failed, status, invoked_by,
       policy_version, duration, first_error
FROM retention.audit ORDER BY started_at;
SQL

heading "7. retention.daily_summary: per day and policy" \
	"The analysts' roll-up of the audit log."
sql <<'SQL'
\pset title 'retention.daily_summary'
SELECT * FROM retention.daily_summary ORDER BY day, policy_name;
SQL

heading "8. retention.policies after the run" \
	"Each policy now has a last run and a next run (run_every after the start of the last one)."
sql <<'SQL'
\pset title 'retention.policies'
SELECT name, version, run_every, last_run_at, last_status, consecutive_failures, next_run_at
FROM retention.policies ORDER BY priority, name;
\pset title 'retention.compliance: is every promise kept?'
SELECT policy_name, relation, retain, tenant_periods, oldest_trigger, rows_overdue, status
FROM retention.compliance ORDER BY policy_name;
SQL

heading "8b. webhook_deliveries: partitions kept by the policy" \
	"The table started with a default partition only. The run created daily partitions (a week" \
	"ahead), moved every row out of the default partition into its day, dropped each expired" \
	"day whole (one drop_partition audit row each, naming the partition and its row count), and" \
	"deleted row by row only in the day that straddles the cutoff."
sql <<'SQL'
\pset title 'partitions of webhook_deliveries (first three, last three)'
WITH p AS (
    SELECT c.relname AS partition, pg_get_expr(c.relpartbound, c.oid) AS bounds,
           row_number() OVER (ORDER BY c.relname) AS n, count(*) OVER () AS total
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'webhook_deliveries'::regclass)
SELECT partition, bounds FROM p WHERE n <= 3 OR n > total - 3 ORDER BY partition;
\pset title 'webhook_deliveries: units of work in retention.purge_log'
SELECT kind, count(*) AS units, sum(rows_affected) AS rows, min(partitions[1]) AS first_partition,
       max(partitions[1]) AS last_partition
FROM retention.purge_log WHERE policy_name = 'webhook_deliveries' GROUP BY kind ORDER BY kind;
SELECT count(*) AS "rows left in the default partition" FROM ONLY webhook_deliveries_default;
SQL

heading "9. retention.verify_audit(): is the audit log intact?" \
	"retention.purge_log is append-only and hash-chained (each row's SHA-256 covers the" \
	"previous row's hash); verify_audit() walks the chain and names the first row that breaks it."
sql <<'SQL'
\pset title 'SELECT * FROM retention.verify_audit()'
SELECT * FROM retention.verify_audit();
SQL

heading "10. Expected vs purged" \
	"expected: the hand count of step 3; preview: step 4; purged: sum of rows_affected in" \
	"retention.purge_log per policy (conversations count conversations only: their messages" \
	"went by cascade, shown on the messages line as before - after); after: rows left now."
sql <<'SQL'
UPDATE demo_expected d
SET purged = l.purged, batches = l.batches
FROM (SELECT policy_name, sum(rows_affected) AS purged, count(*) AS batches
      FROM retention.purge_log
      WHERE kind IN ('delete', 'drop_partition', 'anonymize')
      GROUP BY policy_name) l
WHERE l.policy_name = d.policy;
UPDATE demo_expected SET after = (SELECT count(*) FROM chat_media) WHERE relation = 'chat_media';
UPDATE demo_expected SET after = (SELECT count(*) FROM email_content) WHERE relation = 'email_content';
UPDATE demo_expected SET after = (SELECT count(*) FROM conversations) WHERE relation = 'conversations';
UPDATE demo_expected SET after = (SELECT count(*) FROM messages) WHERE relation = 'messages';
UPDATE demo_expected SET after = (SELECT count(*) FROM call_detail_records) WHERE policy = 'call_detail_records';
UPDATE demo_expected SET after = (SELECT count(*) FROM call_detail_records
                                  WHERE caller_number IS NOT NULL OR callee_number IS NOT NULL)
WHERE policy = 'cdr_phone_numbers';
UPDATE demo_expected SET after = (SELECT count(*) FROM customer_profiles) WHERE relation = 'customer_profiles';
UPDATE demo_expected SET after = (SELECT count(*) FROM webhook_deliveries) WHERE relation = 'webhook_deliveries';
-- Messages: the cascade is checked on the table itself.
UPDATE demo_expected SET purged = before - after WHERE policy = '(cascade)';

CREATE VIEW demo_comparison AS
SELECT policy, relation, ord, before, expected, preview, purged, batches, after,
       purged IS NOT DISTINCT FROM expected
       AND before - after = expected
       AND (policy = '(cascade)' OR preview IS NOT DISTINCT FROM expected) AS ok
FROM demo_expected;

\pset title 'expected (hand count before the run) vs purged (retention.purge_log)'
SELECT relation, policy, before, expected, preview, purged, batches, after,
       CASE WHEN ok THEN 'ok' ELSE 'MISMATCH' END AS result
FROM demo_comparison ORDER BY ord;
SQL

heading "11. A data-subject request (GDPR articles 15 and 17)" \
	"A customer of Northwind Telecom (tenant 1) with recent conversations asks for a copy of" \
	"their data, then for its erasure. export_subject() gathers their rows from every relation" \
	"whose policy names a subject column; erase_subject() deletes them in one transaction" \
	"(rows under a hold would stay). The audit log keeps the subject's HMAC digest, not the id."
sql <<'SQL'
CREATE TABLE demo_subject AS
SELECT customer_id AS id FROM conversations
WHERE tenant_id = 1 AND customer_id IS NOT NULL AND started_at > now() - interval '2 months'
ORDER BY customer_id LIMIT 1;
CREATE TABLE demo_subject_before AS
SELECT (SELECT count(*) FROM conversations WHERE customer_id = s.id) AS conversations,
       (SELECT count(*) FROM customer_profiles WHERE id = s.id) AS profiles
FROM demo_subject s;
\pset title 'export_subject(): rows per relation'
SELECT e.key AS relation, jsonb_array_length(e.value) AS rows
FROM demo_subject s, jsonb_each(retention.export_subject(s.id::text)) e ORDER BY 1;
\pset title 'erase_subject()'
CREATE TABLE demo_erasure AS
SELECT e.* FROM demo_subject s, retention.erase_subject(s.id::text, 'GDPR art. 17 request #2026-118') e;
SELECT * FROM demo_erasure;
\pset title 'the audit rows of the request'
SELECT kind, relation, rows_affected, reason, subject_digest = retention.subject_digest(s.id::text) AS "digest matches"
FROM retention.purge_log AS l, demo_subject s WHERE kind IN ('export', 'erasure') ORDER BY l.id;
SQL
subject_ok=$(value "SELECT (SELECT rows_erased FROM demo_erasure WHERE relation = 'conversations'::regclass) = b.conversations
                       AND (SELECT rows_erased FROM demo_erasure WHERE relation = 'customer_profiles'::regclass) = b.profiles
                       AND b.conversations > 0
                       AND NOT EXISTS (SELECT FROM conversations c, demo_subject s WHERE c.customer_id = s.id)
                       AND NOT EXISTS (SELECT FROM customer_profiles p, demo_subject s WHERE p.id = s.id)
                    FROM demo_subject_before b")

mismatches=$(value "SELECT count(*) FROM demo_comparison WHERE NOT ok")
audit_ok=$(value "SELECT ok FROM retention.verify_audit()")
bad_runs=$(value "SELECT count(*) FROM retention.purge_log WHERE status <> 'ok'")

heading "Left out of this demo" \
	"archive_to, throttling (retention.max_rows_per_second), retention.compliance over time, and" \
	"the background worker's schedule (switched off here: retention.enabled = off)."

echo
if [ "$mismatches" = 0 ] && [ "$audit_ok" = t ] && [ "$bad_runs" = 0 ] && [ "$subject_ok" = t ]; then
	printf '%sDEMO PASSED%s: every policy removed exactly the rows that had expired; the subject was erased; audit chain verified (%s s).\n' \
		"$BOLD" "$RESET" "$(elapsed "$started")"
else
	printf '%sDEMO FAILED%s: %s mismatching line(s), verify_audit ok = %s, %s audit row(s) not ok, subject erased = %s.\n' \
		"$BOLD" "$RESET" "$mismatches" "$audit_ok" "$bad_runs" "$subject_ok"
	exit 1
fi
