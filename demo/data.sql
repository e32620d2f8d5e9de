-- Demo data: about 150,000 rows spread over the last two years, relative to now().
--
-- Deterministic: setseed() fixes the sequence of random() values, and every statement draws
-- them in a fixed order, so two loads differ only by the moment now() they are anchored to.
-- Everything runs in one transaction, so now() is the same instant for every row.
--
-- Boundary gap: the demo compares a count of expired rows computed by hand a few seconds before
-- the purge with what the purge removed. A row whose retention trigger lies within seconds of a
-- policy's cutoff could expire in between, so no row is generated within 3 hours of any cutoff
-- (3 hours also absorbs a daylight-saving shift if the cluster's TimeZone has one). The cutoffs
-- below must match demo/policies.sql: cutoff = (now() - grace) - retain.

BEGIN;

DO $$ BEGIN PERFORM setseed(0.20240601); END $$;

CREATE FUNCTION pg_temp.near_cutoff(t timestamptz, cutoff timestamptz) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT t BETWEEN cutoff - interval '3 hours' AND cutoff + interval '3 hours' $$;

-- Tenants -----------------------------------------------------------------------------------------
INSERT INTO tenants (id, slug, name, plan, created_at) VALUES
    (1, 'northwind',  'Northwind Telecom',       'scale',   now() - interval '6 years'),
    (2, 'contoso',    'Contoso Bank',            'scale',   now() - interval '5 years'),
    (3, 'fabrikam',   'Fabrikam Retail',         'grow',    now() - interval '4 years'),
    (4, 'tailspin',   'Tailspin Airlines',       'grow',    now() - interval '3 years'),
    (5, 'wingtip',    'Wingtip Insurance',       'starter', now() - interval '3 years'),
    (6, 'adatum',     'A. Datum Health',         'starter', now() - interval '30 months');

-- Customer profiles: 15% terminated, 20% inactive for 18-24 months, 65% active ------------------
-- Trigger of their policy: least(terminated_at, last_activity_at + 18 months); cutoff now() - 30 days.
INSERT INTO customer_profiles (id, tenant_id, display_name, phone_number, email,
                               created_at, last_activity_at, terminated_at)
SELECT id, tenant_id, display_name, phone_number, email,
       least(last_activity_at, terminated_at) - (random() * 365) * interval '1 day',
       last_activity_at, terminated_at
FROM (
    SELECT g.id,
           1 + (g.id % 6) AS tenant_id,
           (array['Ana','Ivan','Maja','Luka','Petra','Marko','Sara','Tomislav','Lucija','Josip'])[1 + g.id % 10]
               || ' ' || (array['Horvat','Kovač','Babić','Marić','Jurić','Novak','Knežević','Vuković'])[1 + (g.id / 10) % 8]
               AS display_name,
           '+3859' || lpad((g.id::bigint * 7919 % 100000000)::text, 8, '0') AS phone_number,
           'customer' || g.id || '@example.com' AS email,
           g.last_activity_at,
           g.terminated_at
    FROM (
        SELECT s.id, t.terminated_at,
               CASE
                   WHEN s.id % 20 < 3 THEN t.terminated_at - (random() * 90) * interval '1 day'
                   WHEN s.id % 20 < 7 THEN now() - interval '18 months' - (random() * 182) * interval '1 day'
                   ELSE now() - (random() ^ 2 * 540) * interval '1 day'
               END AS last_activity_at
        FROM generate_series(1, 5000) AS s(id)
        CROSS JOIN LATERAL (
            SELECT CASE WHEN s.id % 20 < 3 THEN now() - (random() * 700) * interval '1 day' END AS terminated_at
        ) AS t
    ) AS g
) AS p
WHERE NOT pg_temp.near_cutoff(least(terminated_at, last_activity_at + interval '18 months'),
                              now() - interval '30 days');

-- Conversations: ~20,000, each between its customer's creation and last activity ----------------
-- Trigger: started_at; cutoff now() - 6 months. Conversations older than a few days are closed
-- (seed 000 closes active conversations that exceed the retention anyway).
INSERT INTO conversations (id, tenant_id, customer_id, channel, status, started_at, closed_at)
SELECT id, tenant_id, customer_id, channel,
       CASE WHEN started_at > now() - interval '3 days' AND r < 0.5 THEN 'open'
            WHEN started_at > now() - interval '3 days' AND r < 0.7 THEN 'waiting'
            ELSE 'closed' END,
       started_at,
       CASE WHEN started_at > now() - interval '3 days' AND r < 0.7 THEN NULL
            ELSE least(now(), started_at + r * interval '2 days') END
FROM (
    SELECT c.id, p.tenant_id, p.id AS customer_id,
           (array['whatsapp','sms','livechat','messenger','voice'])[1 + c.id % 5] AS channel,
           lo + c.f * (p.last_activity_at - lo) AS started_at,
           c.r
    FROM (SELECT id, 1 + floor(random() * 5000)::bigint AS customer_id, random() AS f, random() AS r
          FROM generate_series(1, 20000) AS id) AS c
    JOIN customer_profiles AS p ON p.id = c.customer_id
    CROSS JOIN LATERAL (SELECT least(p.last_activity_at, greatest(p.created_at, now() - interval '730 days')) AS lo) AS l
) AS x
WHERE NOT pg_temp.near_cutoff(started_at, now() - interval '6 months');

-- A few terminated customers still have an open conversation (a last dispute, say) started just
-- before their termination, less than 6 months ago. Seed 004: "Customer Profiles with an open
-- Conversation can't be deleted", so their policy's keep_when keeps them although they expired.
INSERT INTO conversations (id, tenant_id, customer_id, channel, status, started_at, closed_at)
SELECT 100000 + row_number() OVER (ORDER BY p.id), p.tenant_id, p.id, 'livechat', 'open',
       p.terminated_at - interval '2 days', NULL
FROM customer_profiles AS p
WHERE p.terminated_at BETWEEN now() - interval '150 days' AND now() - interval '40 days'
  AND p.id % 3 = 0;
UPDATE customer_profiles AS p SET last_activity_at = greatest(p.last_activity_at, c.started_at)
FROM conversations AS c
WHERE c.id > 100000 AND c.customer_id = p.id;

-- Messages: 1 to 5 per conversation (~60,000), removed with their conversation by cascade -------
INSERT INTO messages (id, conversation_id, direction, sender, sent_at, body)
SELECT row_number() OVER (ORDER BY c.id, k),
       c.id,
       CASE WHEN k % 2 = 1 THEN 'inbound' ELSE 'outbound' END,
       CASE WHEN k % 2 = 1 THEN 'customer:' || coalesce(c.customer_id::text, '?') ELSE 'agent:' || (1 + c.id % 40) END,
       least(now(), c.started_at + (k - 1) * interval '7 minutes'),
       (array['Hello, I have a question about my last invoice.',
              'Thanks for reaching out! Could you share your account number?',
              'Sure, it is the one ending in 4471.',
              'I can see a double charge; I have refunded it.',
              'My parcel has not arrived yet, tracking says delivered.',
              'Sorry about that, I opened a claim with the courier.',
              'Can I change my flight to Friday?',
              'Done, your new booking reference is sent by email.'])[1 + (c.id + k) % 8]
FROM (SELECT id, customer_id, started_at, 1 + floor(random() * 5)::int AS n
      FROM conversations ORDER BY id) AS c
CROSS JOIN LATERAL generate_series(1, c.n) AS k;

-- Chat media: ~20,000 files received within 2 hours of their conversation's start -----------------
-- Trigger: received_at; cutoff now() - 30 days.
INSERT INTO chat_media (id, tenant_id, conversation_id, received_at, content_type, size_bytes, storage_key)
SELECT m.id, c.tenant_id, c.id, m.received_at, m.content_type, m.size_bytes,
       'media/' || c.tenant_id || '/' || md5(m.id::text) || m.ext
FROM (
    SELECT s.id, 1 + floor(random() * 20000)::bigint AS conversation_id, random() AS f,
           (array['image/jpeg','image/png','audio/ogg','video/mp4','application/pdf'])[1 + s.id % 5] AS content_type,
           (array['.jpg','.png','.ogg','.mp4','.pdf'])[1 + s.id % 5] AS ext,
           (20000 + random() * 4000000)::bigint AS size_bytes
    FROM generate_series(1, 20000) AS s(id)
) AS m0
JOIN conversations AS c ON c.id = m0.conversation_id
CROSS JOIN LATERAL (SELECT m0.id, m0.content_type, m0.ext, m0.size_bytes,
                           least(now(), c.started_at + m0.f * interval '2 hours') AS received_at) AS m
WHERE NOT pg_temp.near_cutoff(m.received_at, now() - interval '30 days');

-- Email content: 10,000 emails, recent ones more frequent ----------------------------------------
-- 20% scheduled ("send at"), some still in the future; 2% drafts never sent (trigger NULL: the
-- countdown has not started). Trigger: coalesce(scheduled_at, sent_at); cutoff now() - 7 days.
INSERT INTO email_content (id, tenant_id, api, from_address, to_address, subject, body_html,
                           created_at, scheduled_at, sent_at)
SELECT id, tenant_id, api, from_address, to_address, subject, body_html, created_at, scheduled_at,
       CASE WHEN kind = 'draft' THEN NULL
            WHEN kind = 'scheduled' THEN CASE WHEN scheduled_at <= now() THEN scheduled_at END
            ELSE created_at + interval '3 seconds' END
FROM (
    SELECT s.id,
           1 + s.id % 6 AS tenant_id,
           CASE WHEN s.id % 10 < 7 THEN 'smtp' ELSE 'http' END AS api,
           'noreply@tenant' || (1 + s.id % 6) || '.example.net' AS from_address,
           'customer' || (1 + s.id * 13 % 5000) || '@example.com' AS to_address,
           (array['Your invoice', 'Booking confirmation', 'Password reset', 'We miss you!', 'Your claim'])[1 + s.id % 5]
               AS subject,
           '<p>Dear customer, this message is about your account.</p>' AS body_html,
           e.created_at,
           e.kind,
           CASE WHEN e.kind = 'scheduled' THEN e.created_at + (random() * 10) * interval '1 day' END AS scheduled_at
    FROM generate_series(1, 10000) AS s(id)
    CROSS JOIN LATERAL (
        SELECT now() - (random() ^ 2 * 730) * interval '1 day' AS created_at,
               CASE WHEN s.id % 50 = 0 THEN 'draft' WHEN s.id % 5 = 1 THEN 'scheduled' ELSE 'sent' END AS kind
    ) AS e
) AS x
WHERE NOT coalesce(pg_temp.near_cutoff(coalesce(scheduled_at,
                                                CASE WHEN kind = 'sent' THEN created_at + interval '3 seconds' END),
                                       now() - interval '7 days'),
                   false);

-- Call-detail records: 30,000 calls over the last 26 months -------------------------------------
-- Trigger: call_started_at; grace 2 hours, retain 24 months: cutoff (now() - 2 hours) - 24 months.
INSERT INTO call_detail_records (id, tenant_id, call_started_at, caller_number, callee_number,
                                 duration, disposition, cost_eur)
SELECT id, tenant_id, call_started_at, caller_number, callee_number, duration, disposition,
       round((extract(epoch FROM duration) / 60 * 0.012)::numeric, 4)
FROM (
    SELECT s.id,
           1 + s.id % 6 AS tenant_id,
           now() - (random() * 790) * interval '1 day' AS call_started_at,
           '+3859' || lpad((s.id::bigint * 7919 % 100000000)::text, 8, '0') AS caller_number,
           '+3851' || lpad((s.id::bigint * 104729 % 10000000)::text, 7, '0') AS callee_number,
           d.disposition,
           CASE WHEN d.disposition = 'answered' THEN (5 + random() * 900) * interval '1 second'
                ELSE interval '0' END AS duration
    FROM generate_series(1, 30000) AS s(id)
    CROSS JOIN LATERAL (
        SELECT (array['answered','answered','answered','answered','busy','no-answer','failed'])[1 + s.id % 7]
                   AS disposition
    ) AS d
) AS x
WHERE NOT pg_temp.near_cutoff(call_started_at, (now() - interval '2 hours') - interval '24 months');

-- Webhook deliveries: one every ~25 minutes over 150 days (~8,600 rows) ------------------------
-- Trigger: delivered_at; cutoff (now() - 2 hours) - 90 days.
INSERT INTO webhook_deliveries (id, tenant_id, delivered_at, event, target_url, http_status, payload)
SELECT w.id, 1 + w.id % 6, w.delivered_at,
       (array['conversation.created','message.received','call.ended','contact.updated'])[1 + w.id % 4],
       'https://hooks.example.com/' || (1 + w.id % 6) || '/events',
       (array[200, 200, 200, 204, 500, 410])[1 + (w.id * 7) % 6],
       jsonb_build_object('delivery', w.id, 'attempt', 1 + w.id % 3)
FROM (SELECT g AS id, now() - g * interval '25 minutes' + random() * interval '10 minutes' AS delivered_at
      FROM generate_series(1, 150 * 24 * 60 / 25) AS g) AS w
WHERE NOT pg_temp.near_cutoff(w.delivered_at, (now() - interval '2 hours') - interval '90 days')
  AND w.delivered_at <= now();

COMMIT;

ANALYZE;
