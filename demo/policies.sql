-- Demo policies: one DELETE policy per table of demo/schema.sql, each the translation of a seed rule
-- (the published retention policies in /work/shared/seeds/, see the header of schema.sql).
--
-- Rule of expiry (SPEC.md): a row is expired at time T when
--     trigger < (T - grace) - retain,  keep_when is not true,  and no legal hold covers it.
-- demo/data.sql generates no row within 3 hours of these cutoffs: keep both files in step.
--
-- Priorities give the order of a run (lowest first), children before what they belong to, as the
-- seeds ask ("call recordings before the calls", seed 002): media, then email, then conversations
-- (their messages go with them), then CDRs, and customer profiles last.
--
-- Also shown: per-tenant periods within bounds (seeds 000 and 002), phone numbers anonymised after
-- 12 months (seed 001), partitions dropped whole (webhook deliveries); demo/run.sh adds a legal hold
-- and a data-subject request (erasure and export, GDPR articles 17 and 15).
-- Left out: the 2-day period of the HTTP email API (seed 001) - a second policy on email_content
-- with keep_when => 'api <> ''http''' would express it; this demo keeps 7 days - and archive_to,
-- throttling (retention.max_rows_per_second), pg_cron scheduling.

-- Media received over chat channels: 30 days from the date of communication, and the period "cannot
-- be prolonged" (seeds 000, 001): max_retain refuses any later attempt to raise it, for the policy
-- and for every tenant override.
SELECT retention.add_policy(
    name       => 'chat_media',
    relation   => 'chat_media',
    trigger    => 'received_at',
    retain     => '30 days',
    max_retain => '30 days',
    tenant_column => 'tenant_id',    -- tenants may shorten it, never prolong it
    run_every  => '1 day',           -- seed 000: "once a day, we check whether any data needs to be deleted"
    priority   => 10
) AS policy_id;

-- Email content: 7 days from the date of sending (SMTP API, seed 001); with the send-at feature the
-- countdown starts at the send-at date. Drafts (both NULL) have not started their countdown.
SELECT retention.add_policy(
    name      => 'email_content',
    relation  => 'email_content',
    trigger   => 'coalesce(scheduled_at, sent_at)',
    retain    => '7 days',
    run_every => '1 hour',
    priority  => 20
) AS policy_id;

-- Conversations: 6 months from the date the conversation started, whatever its status (seed 000).
-- Their messages are removed by ON DELETE CASCADE in the same batch. batch_size 5000 shows how a
-- large purge is cut into short transactions (one purge_log row per batch).
SELECT retention.add_policy(
    name       => 'conversations',
    relation   => 'conversations',
    trigger    => 'started_at',
    retain     => '6 months',
    tenant_column  => 'tenant_id',
    subject_column => 'customer_id', -- a customer's conversations, for erasure and export
    run_every  => '1 day',
    priority   => 30,
    batch_size => 5000
) AS policy_id;

-- Call-detail records: deleted after 24 months. Seed 002 cleans call data every 2 hours with a
-- 2-hour grace period, and bounds the per-account period to 0-1095 days ("0 means a minimum of
-- 2 hours"): min_retain / max_retain, tenant_column for the accounts' own periods.
SELECT retention.add_policy(
    name       => 'call_detail_records',
    relation   => 'call_detail_records',
    trigger    => 'call_started_at',
    retain     => '24 months',
    grace      => '2 hours',
    min_retain => '2 hours',
    max_retain => '1095 days',
    tenant_column => 'tenant_id',
    run_every  => '2 hours',
    priority   => 40
) AS policy_id;

-- Wingtip Insurance (tenant 5) chose 400 days for its call data, within 0-1095 days.
SELECT retention.set_tenant_retain('call_detail_records', '5', '400 days');

-- Phone numbers inside call-detail records: anonymised after 12 months (seed 001), while the
-- record itself stays for billing until the 24-month policy deletes it. Runs before it.
SELECT retention.add_policy(
    name       => 'cdr_phone_numbers',
    relation   => 'call_detail_records',
    trigger    => 'call_started_at',
    retain     => '12 months',
    grace      => '2 hours',
    action     => 'anonymize',
    anonymize  => '{"caller_number": "NULL", "callee_number": "NULL"}',
    run_every  => '2 hours',
    priority   => 35
) AS policy_id;

-- Customer profiles: 30 days after contract termination or after 18 months without activity,
-- whichever comes first (seed 001; least() ignores a NULL terminated_at). Seed 004: a profile with
-- an open conversation can't be deleted.
SELECT retention.add_policy(
    name      => 'customer_profiles',
    relation  => 'customer_profiles',
    trigger   => 'least(terminated_at, last_activity_at + interval ''18 months'')',
    retain    => '30 days',
    keep_when => 'EXISTS (SELECT 1 FROM conversations c
                          WHERE c.customer_id = customer_profiles.id AND c.status <> ''closed'')',
    subject_column => 'id',
    run_every => '1 day',
    priority  => 90
) AS policy_id;

-- Webhook deliveries: 90 days (the account's choice within seed 002's 0-1095 days), every 2 hours
-- with a 2-hour grace. partition_interval keeps daily partitions, a week ahead (premake 7), and
-- drops each day whole once all of it is expired; only the day that straddles the cutoff is
-- deleted row by row.
SELECT retention.add_policy(
    name               => 'webhook_deliveries',
    relation           => 'webhook_deliveries',
    trigger            => 'delivered_at',
    retain             => '90 days',
    grace              => '2 hours',
    min_retain         => '2 hours',
    max_retain         => '1095 days',
    run_every          => '2 hours',
    priority           => 45,
    partition_interval => '1 day',
    premake            => 7
) AS policy_id;
