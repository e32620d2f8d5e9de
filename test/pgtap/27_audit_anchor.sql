-- audit_anchor: retention.audit_head() gives the newest row of the chain; verify_audit(anchor_id,
-- anchor_hash) detects a chain that a superuser rewrote (recomputing every hash) or cut back
-- since the anchor was taken, which the chain alone cannot show; rows_checked includes the bad
-- row; neither function is granted to PUBLIC
-- (runs retention.run(), so autocommit with uniquely named objects)
\set ON_ERROR_STOP true

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rtap_anchor_other') THEN
        CREATE ROLE rtap_anchor_other NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rtap_anchor_auditor') THEN
        CREATE ROLE rtap_anchor_auditor NOLOGIN;
    END IF;
END
$$;

-- What a superuser can do to the log: rewrite every row from `from_id` on with fresh links and
-- hashes (the extension's own row hash) and move the chain head to the new last row.
CREATE FUNCTION anc_rechain(from_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
    prev bytea;
BEGIN
    SELECT l.hash INTO prev FROM retention.purge_log AS l WHERE l.id < from_id
    ORDER BY l.id DESC LIMIT 1;
    FOR r IN SELECT l.id FROM retention.purge_log AS l WHERE l.id >= from_id ORDER BY l.id LOOP
        UPDATE retention.purge_log SET prev_hash = prev WHERE id = r.id;
        UPDATE retention.purge_log AS l SET hash = _retention.audit_row_hash(l)
        WHERE l.id = r.id RETURNING l.hash INTO prev;
    END LOOP;
    UPDATE _retention.audit_head
    SET last_id = coalesce((SELECT max(id) FROM retention.purge_log), 0),
        last_hash = (SELECT hash FROM retention.purge_log ORDER BY id DESC LIMIT 1);
END
$$;

SELECT plan(33);

SELECT is((SELECT count(*) FROM retention.audit_head()), 0::bigint, 'an empty log has no head');

-- some history: 9 rows in batches of 2 and a second policy
CREATE TABLE anc_t (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE anc_u (id int PRIMARY KEY, created_at timestamptz NOT NULL);
INSERT INTO anc_t SELECT g, now() - interval '100 days' FROM generate_series(1, 9) AS g;
INSERT INTO anc_u SELECT g, now() - interval '100 days' FROM generate_series(1, 3) AS g;
SELECT retention.add_policy('anc_t', 'anc_t', 'created_at', '30 days', batch_size => 2,
                            enabled => false) IS NOT NULL AS added \gset
SELECT retention.add_policy('anc_u', 'anc_u', 'created_at', '30 days', enabled => false)
       IS NOT NULL AS added \gset
CALL retention.run('anc_t');
CALL retention.run('anc_u');
SELECT count(*) AS n FROM retention.purge_log \gset
SELECT cmp_ok(:n::bigint, '>=', 6::bigint, 'the runs wrote at least six audit rows');

-- the head and a clean chain ----------------------------------------------------------------------
SELECT is((SELECT row(h.id, h.hash)::text FROM retention.audit_head() AS h),
          (SELECT row(l.id, l.hash)::text FROM retention.purge_log AS l
           WHERE l.id = (SELECT max(id) FROM retention.purge_log)),
          'audit_head() is the row with the greatest id, with its hash');
SELECT id AS head_id, hash AS head_hash FROM retention.audit_head() \gset
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(true, :n::bigint, NULL::bigint)::text, 'verify_audit(): ok, every row checked');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:head_id, :'head_hash')),
          row(true, :n::bigint, NULL::bigint)::text, 'verify_audit(head id, head hash): ok');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(anchor_id => :head_id, anchor_hash => :'head_hash')),
          row(true, :n::bigint, NULL::bigint)::text, 'the anchor can be passed by name');

-- anchors that do not match --------------------------------------------------------------------------
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:head_id, sha256('not the hash'::bytea))),
          row(false, :n::bigint, :head_id::bigint)::text,
          'a wrong hash for the head: not ok, first_bad_id is the anchor');
SELECT id AS third_id, hash AS third_hash FROM retention.purge_log ORDER BY id OFFSET 2 LIMIT 1 \gset
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:third_id, :'head_hash')),
          row(false, 3::bigint, :third_id::bigint)::text,
          'a middle anchor with another row''s hash: not ok at the anchor, three rows checked');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:third_id, :'third_hash')),
          row(true, :n::bigint, NULL::bigint)::text, 'a middle anchor with its own hash: ok');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:head_id + 100, :'head_hash')),
          row(false, :n::bigint, (:head_id + 100)::bigint)::text,
          'an anchor past the end of the chain: not ok at the anchor');
SELECT throws_ok(format('SELECT * FROM retention.verify_audit(%s)', :head_id), '22023', NULL,
                 'an anchor id without its hash is refused (22023)');
SELECT throws_ok(format('SELECT * FROM retention.verify_audit(anchor_hash => %L)', :'head_hash'),
                 '22023', NULL, 'an anchor hash without its id is refused (22023)');
SELECT throws_ok(format('SELECT * FROM retention.verify_audit(%s, NULL)', :head_id), '22023', NULL,
                 'an anchor id with a NULL hash is refused (22023)');

-- a superuser changes a middle row without fixing the chain: found at that row -------------------
SELECT id AS mid, rows_affected AS mid_rows FROM retention.purge_log ORDER BY id OFFSET 3 LIMIT 1 \gset
SELECT count(*) AS upto_mid FROM retention.purge_log WHERE id <= :mid \gset
SELECT lives_ok(format('UPDATE retention.purge_log SET rows_affected = rows_affected + 10 WHERE id = %s', :mid),
                'a superuser passes the append-only trigger');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(false, :upto_mid::bigint, :mid::bigint)::text,
          'a changed middle row: not ok, first_bad_id is that row, rows_checked includes it');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:head_id, :'head_hash')),
          row(false, :upto_mid::bigint, :mid::bigint)::text,
          'with the head as anchor the first bad row is still the changed row');
UPDATE retention.purge_log SET rows_affected = :mid_rows WHERE id = :mid;
SELECT is((SELECT ok FROM retention.verify_audit(:head_id, :'head_hash')), true,
          'the restored row verifies against the anchor again');

-- a superuser rewrites a row and recomputes every hash after it --------------------------------
UPDATE retention.purge_log SET rows_affected = rows_affected + 10 WHERE id = :mid;
SELECT anc_rechain(:mid);
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(true, :n::bigint, NULL::bigint)::text,
          'the rewritten chain verifies on its own: the chain alone cannot show the forgery');
SELECT isnt((SELECT hash FROM retention.audit_head()), :'head_hash'::bytea,
            'the head row now carries another hash');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:head_id, :'head_hash')),
          row(false, :n::bigint, :head_id::bigint)::text,
          'the anchor taken before the rewrite: not ok, first_bad_id is the anchor');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:third_id, :'third_hash')),
          row(true, :n::bigint, NULL::bigint)::text,
          'an anchor before the rewritten row still verifies (it vouches for the rows up to it)');

-- the log grows; then a superuser cuts it back and moves the chain head -----------------------------
INSERT INTO anc_t SELECT g, now() - interval '100 days' FROM generate_series(101, 104) AS g;
CALL retention.run('anc_t');
SELECT id AS head2_id, hash AS head2_hash FROM retention.audit_head() \gset
SELECT count(*) AS n2 FROM retention.purge_log \gset
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:head2_id, :'head2_hash')),
          row(true, :n2::bigint, NULL::bigint)::text, 'new rows link to the chain; the new head verifies');
DELETE FROM retention.purge_log WHERE id > :head_id;
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(false, :n::bigint, :head2_id::bigint)::text,
          'rows cut from the end with the head left behind: reported at the old head');
SELECT anc_rechain(:head_id + 1);
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(true, :n::bigint, NULL::bigint)::text,
          'with the chain head moved back too, the chain alone verifies');
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text
           FROM retention.verify_audit(:head2_id, :'head2_hash')),
          row(false, :n::bigint, :head2_id::bigint)::text,
          'the anchor row is gone: not ok, first_bad_id is the anchor, every remaining row checked');

-- a superuser truncates the log and starts a new chain -----------------------------------------------
TRUNCATE retention.purge_log;
UPDATE _retention.audit_head SET last_id = 0, last_hash = NULL;
CALL retention.run('anc_u');
SELECT count(*) AS n3 FROM retention.purge_log \gset
SELECT is((SELECT row(ok, rows_checked, first_bad_id)::text FROM retention.verify_audit()),
          row(true, :n3::bigint, NULL::bigint)::text, 'a new chain after TRUNCATE verifies on its own');
SELECT is((SELECT row(ok, first_bad_id)::text FROM retention.verify_audit(:head2_id, :'head2_hash')),
          row(false, :head2_id::bigint)::text, 'but not against an anchor of the old chain');

-- privileges ------------------------------------------------------------------------------------------
SELECT ok(NOT has_function_privilege('rtap_anchor_other', 'retention.audit_head()', 'EXECUTE'),
          'PUBLIC may not execute audit_head');
SELECT ok(NOT has_function_privilege('rtap_anchor_other', 'retention.verify_audit(bigint, bytea)', 'EXECUTE'),
          'PUBLIC may not execute verify_audit');
SET ROLE rtap_anchor_other;
SELECT throws_ok($$SELECT * FROM retention.audit_head()$$, '42501', NULL,
                 'PUBLIC cannot execute retention.audit_head()');
SELECT throws_ok($$SELECT * FROM retention.verify_audit()$$, '42501', NULL,
                 'PUBLIC cannot execute retention.verify_audit()');
SELECT throws_ok(format('SELECT * FROM retention.verify_audit(%s, %L)', :head2_id, :'head2_hash'),
                 '42501', NULL, 'PUBLIC cannot execute retention.verify_audit(anchor_id, anchor_hash)');
RESET ROLE;
GRANT USAGE ON SCHEMA retention TO rtap_anchor_auditor;
GRANT EXECUTE ON FUNCTION retention.audit_head(), retention.verify_audit(bigint, bytea)
    TO rtap_anchor_auditor;
SET ROLE rtap_anchor_auditor;
SELECT id AS head3_id, hash AS head3_hash FROM retention.audit_head() \gset
SELECT is((SELECT row(ok, rows_checked)::text FROM retention.verify_audit(:head3_id, :'head3_hash')),
          row(true, :n3::bigint)::text,
          'a role granted EXECUTE reads the head and verifies against it without reading the log');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION retention.audit_head(), retention.verify_audit(bigint, bytea)
    FROM rtap_anchor_auditor;
REVOKE USAGE ON SCHEMA retention FROM rtap_anchor_auditor;

SELECT * FROM finish();
