-- audit_log: retention.purge_log is append-only for everyone but a superuser, forms a SHA-256
-- hash chain in id order, and verify_audit() finds the first tampered row
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rtap_audit_writer') THEN
        CREATE ROLE rtap_audit_writer NOLOGIN;
    END IF;
END
$$;

SELECT plan(27);

SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(true, 0::bigint, NULL::bigint)::text, 'an empty log verifies');

-- some history: 7 rows in batches of 2, a run with nothing to do, and a second policy
CREATE TABLE aud_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE aud_u (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO aud_t SELECT g, now() - interval '100 days' FROM generate_series(1, 7) AS g;
INSERT INTO aud_u SELECT g, now() - interval '100 days' FROM generate_series(1, 3) AS g;
SELECT retention.add_policy('aud_t', 'aud_t', 'created_at', '30 days', batch_size => 2,
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('aud_u', 'aud_u', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('aud_t');
CALL retention.run('aud_u');
CALL retention.run('aud_t');
SELECT count(*) AS n FROM retention.purge_log \gset
SELECT cmp_ok(:n::bigint, '>=', 6::bigint, 'the runs wrote at least six audit rows');

-- the chain ------------------------------------------------------------------------------------
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(true, :n::bigint, NULL::bigint)::text,
          'verify_audit: ok, every row checked, no bad row');
SELECT is((SELECT prev_hash FROM retention.purge_log ORDER BY id LIMIT 1), NULL::bytea,
          'the first row has no prev_hash');
SELECT is((SELECT count(*) FROM (
               SELECT prev_hash IS NOT DISTINCT FROM lag(hash) OVER (ORDER BY id) AS linked
               FROM retention.purge_log) AS c
           WHERE NOT linked), 0::bigint,
          'each row''s prev_hash is the hash of the previous row in id order');
SELECT ok((SELECT bool_and(octet_length(hash) = 32) FROM retention.purge_log),
          'every hash is a SHA-256 digest (32 bytes)');
SELECT is((SELECT count(DISTINCT hash) FROM retention.purge_log), :n::bigint, 'every hash is distinct');
SELECT is((SELECT count(DISTINCT id) FROM retention.purge_log), :n::bigint, 'every id is distinct');

-- append-only for a role with every table privilege -----------------------------------------------
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON retention.purge_log TO rtap_audit_writer;
SET ROLE rtap_audit_writer;
SELECT is((SELECT count(*) FROM retention.purge_log), :n::bigint,
          'the granted role can read the log');
SELECT throws_ok($$UPDATE retention.purge_log SET rows_affected = rows_affected + 1$$, '42501', NULL,
                 'UPDATE is refused to a non-superuser even with the UPDATE privilege');
SELECT throws_ok($$UPDATE retention.purge_log SET error = 'x' WHERE id = (SELECT max(id) FROM retention.purge_log)$$,
                 '42501', NULL, 'UPDATE of a single row is refused');
SELECT throws_ok($$DELETE FROM retention.purge_log$$, '42501', NULL,
                 'DELETE is refused to a non-superuser even with the DELETE privilege');
SELECT throws_ok($$DELETE FROM retention.purge_log WHERE id = (SELECT min(id) FROM retention.purge_log)$$,
                 '42501', NULL, 'DELETE of a single row is refused');
SELECT throws_ok($$TRUNCATE retention.purge_log$$, '42501', NULL,
                 'TRUNCATE is refused to a non-superuser even with the TRUNCATE privilege');
RESET ROLE;
REVOKE ALL ON retention.purge_log FROM rtap_audit_writer;
GRANT EXECUTE ON FUNCTION retention.verify_audit(bigint, bytea) TO rtap_audit_writer;
SET ROLE rtap_audit_writer;
SELECT is((SELECT row(ok, rows_checked)::text FROM retention.verify_audit()),
          row(true, :n::bigint)::text, 'a role granted EXECUTE on verify_audit can verify the log');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION retention.verify_audit(bigint, bytea) FROM rtap_audit_writer;
SELECT is((SELECT count(*) FROM retention.purge_log), :n::bigint, 'the refused statements removed nothing');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(true, :n::bigint, NULL::bigint)::text, 'the log still verifies');

-- tampering by a superuser is detected ---------------------------------------------------------
SELECT id AS mid, hash AS mid_hash, rows_affected AS mid_rows, invoked_by AS mid_invoker
FROM retention.purge_log ORDER BY id OFFSET 2 LIMIT 1 \gset
SELECT count(*) AS before_mid FROM retention.purge_log WHERE id < :mid \gset
SELECT lives_ok(format('UPDATE retention.purge_log SET rows_affected = rows_affected + 1 WHERE id = %s', :mid),
                'a superuser may update an audit row');
SELECT is((SELECT row(ok, first_bad_id)::text FROM retention.verify_audit()),
          row(false, :mid::bigint)::text, 'verify_audit: a changed row is reported as the first bad id');
SELECT is((SELECT rows_checked FROM retention.verify_audit()), :before_mid + 1::bigint,
          'verify_audit: rows_checked stops at the bad row and includes it');
UPDATE retention.purge_log SET rows_affected = :mid_rows WHERE id = :mid;
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(true, :n::bigint, NULL::bigint)::text, 'restoring the row makes the log verify again');

UPDATE retention.purge_log SET hash = sha256('forged'::bytea) WHERE id = :mid;
SELECT is((SELECT row(ok, first_bad_id)::text FROM retention.verify_audit()),
          row(false, :mid::bigint)::text, 'verify_audit: a forged hash is reported');
UPDATE retention.purge_log SET hash = :'mid_hash'::bytea WHERE id = :mid;
SELECT is((SELECT ok FROM retention.verify_audit()), true, 'restoring the hash makes the log verify again');

UPDATE retention.purge_log SET invoked_by = 'someone else' WHERE id = :mid;
SELECT is((SELECT row(ok, first_bad_id)::text FROM retention.verify_audit()),
          row(false, :mid::bigint)::text, 'verify_audit: a changed invoked_by is reported');
UPDATE retention.purge_log SET invoked_by = :'mid_invoker' WHERE id = :mid;
SELECT is((SELECT ok FROM retention.verify_audit()), true, 'restoring invoked_by makes the log verify again');

-- a row deleted from the middle breaks the link of the row after it
SELECT min(id) AS after_mid FROM retention.purge_log WHERE id > :mid \gset
DELETE FROM retention.purge_log WHERE id = :mid;
SELECT is((SELECT row(ok, first_bad_id)::text FROM retention.verify_audit()),
          row(false, :after_mid::bigint)::text,
          'verify_audit: after a deleted row, the next row is reported');

-- the log keeps growing after the repair attempt and new rows link to the last one
CALL retention.run('aud_u');
SELECT is((SELECT prev_hash FROM retention.purge_log ORDER BY id DESC LIMIT 1),
          (SELECT hash FROM retention.purge_log ORDER BY id DESC OFFSET 1 LIMIT 1),
          'a new row links to the previous row''s hash');

SELECT * FROM finish();
