-- subjects: erase_subject (one transaction, all or nothing, holds respected, one row per
-- relation in priority order, zeros included) and export_subject (jsonb, [] when none); both
-- audited with the subject's digest, never the subject; not executable by PUBLIC.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(18);

CREATE TABLE profiles (id int PRIMARY KEY, email text, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE messages (id int PRIMARY KEY, profile_id int, body text, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE call_notes (id int, customer text, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE unrelated (id int, at timestamptz NOT NULL DEFAULT now());
INSERT INTO profiles SELECT g, 'p' || g || '@example.com' FROM generate_series(1, 10) g;
INSERT INTO messages SELECT g, g % 10, 'hello ' || g FROM generate_series(1, 100) g;
INSERT INTO call_notes SELECT g, (g % 10)::text FROM generate_series(1, 40) g;
INSERT INTO unrelated SELECT g FROM generate_series(1, 5) g;
SELECT retention.add_policy('profiles', 'profiles', 'at', '1 year', subject_column => 'id', priority => 90) IS NOT NULL AS a \gset
SELECT retention.add_policy('messages', 'messages', 'at', '6 months', subject_column => 'profile_id', priority => 30) IS NOT NULL AS a \gset
SELECT retention.add_policy('messages_anon', 'messages', 'at', '3 months', action => 'anonymize',
                            anonymize => '{"body": "NULL"}', subject_column => 'profile_id', priority => 20) IS NOT NULL AS a \gset
SELECT retention.add_policy('call_notes', 'call_notes', 'at', '1 year', subject_column => 'customer', priority => 30) IS NOT NULL AS a \gset
SELECT retention.add_policy('unrelated', 'unrelated', 'at', '1 year') IS NOT NULL AS a \gset

-- export --------------------------------------------------------------------------------------
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(retention.export_subject('7')) k),
          '{public.call_notes,public.messages,public.profiles}'::text[],
          'export has a key per relation with a subject column, named as format(%I.%I) gives');
SELECT is((SELECT jsonb_array_length(retention.export_subject('7') -> 'public.messages')), 10,
          'export lists every row of the subject');
SELECT is((SELECT retention.export_subject('7') -> 'public.profiles' -> 0 ->> 'email'), 'p7@example.com',
          'each row with its columns');
SELECT is((SELECT retention.export_subject('nobody') -> 'public.profiles'), '[]'::jsonb,
          'a relation without rows of the subject gives []');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE kind = 'export'), 4::bigint, 'each export is audited');

-- erasure -------------------------------------------------------------------------------------
SELECT retention.place_hold('dispute', subject => '7', policy_name => 'call_notes') AS hold_id \gset
SELECT is((SELECT array_agg(row(relation::text, rows_erased, rows_held)::text ORDER BY ord)
           FROM retention.erase_subject('7', 'GDPR art. 17 request 2026-41') WITH ORDINALITY AS e(relation, rows_erased, rows_held, ord)),
          ARRAY[row('messages', 10, 0)::text, row('call_notes', 0, 4)::text, row('profiles', 1, 0)::text],
          'one row per relation, each once, by lowest policy priority then name, zeros included');
SELECT is((SELECT count(*) FROM messages WHERE profile_id = 7) + (SELECT count(*) FROM profiles WHERE id = 7),
          0::bigint, 'the subject''s rows are gone');
SELECT is((SELECT count(*) FROM call_notes WHERE customer = '7'), 4::bigint, 'held rows stay');
SELECT is((SELECT count(*) FROM messages) + (SELECT count(*) FROM profiles) + (SELECT count(*) FROM unrelated),
          90::bigint + 9 + 5, 'nothing else is touched');
SELECT ok((SELECT bool_and(subject_digest = retention.subject_digest('7') AND reason = 'GDPR art. 17 request 2026-41')
           FROM retention.purge_log WHERE kind = 'erasure'),
          'erasure audit rows carry the digest and the reason');
INSERT INTO call_notes VALUES (99, 'zeta-secret-7');
SELECT is((SELECT rows_erased FROM retention.erase_subject('zeta-secret-7', 'request')
           WHERE relation = 'call_notes'::regclass), 1::bigint, 'a text subject is erased');
SELECT ok(NOT EXISTS (SELECT FROM retention.purge_log l WHERE l::text LIKE '%zeta-secret%')
          AND EXISTS (SELECT FROM retention.purge_log WHERE subject_digest = retention.subject_digest('zeta-secret-7')),
          'the audit log keeps the digest, never the subject');

-- all or nothing: a row that cannot be deleted aborts the whole erasure
CREATE TABLE invoices (id int PRIMARY KEY, profile_id int REFERENCES profiles (id));
INSERT INTO invoices VALUES (1, 3);
SELECT throws_ok($$SELECT * FROM retention.erase_subject('3', 'request')$$, '23503', NULL,
                 'a row that cannot be deleted raises its error');
SELECT is((SELECT count(*) FROM messages WHERE profile_id = 3), 10::bigint,
          'and nothing of the subject was erased');
SELECT is((SELECT count(*) FROM retention.purge_log WHERE kind = 'erasure' AND subject_digest = retention.subject_digest('3')),
          0::bigint, 'nor audited');

-- a subject that is not a value of a column's type: that relation holds no rows of it
SELECT is((SELECT array_agg(rows_erased ORDER BY relation::text) FROM retention.erase_subject('not-a-number', 'x')),
          '{0,0,0}'::bigint[], 'a subject of another type erases nothing and raises nothing');

-- privileges ---------------------------------------------------------------------------------
CREATE ROLE subj_nobody;
SET ROLE subj_nobody;
SELECT throws_ok($$SELECT * FROM retention.erase_subject('1', 'x')$$, '42501', NULL,
                 'erase_subject is not executable by PUBLIC');
SELECT throws_ok($$SELECT retention.export_subject('1')$$, '42501', NULL,
                 'export_subject is not executable by PUBLIC');
RESET ROLE;
DROP ROLE subj_nobody;

SELECT * FROM finish();
