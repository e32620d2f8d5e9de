-- run_log: purge_log rows, failures isolated by bisection, the hash chain, append-only
SET client_min_messages = warning;

CREATE TABLE rl_parent (id int PRIMARY KEY, created_at timestamptz NOT NULL);
CREATE TABLE rl_child (id int PRIMARY KEY, parent_id int REFERENCES rl_parent (id));
INSERT INTO rl_parent SELECT g, now() - interval '2 years' FROM generate_series(1, 10000) g;
INSERT INTO rl_child VALUES (1, 4321);      -- one parent cannot be deleted (no cascade)

SELECT retention.add_policy('rl', 'rl_parent', 'created_at', '1 year',
                            batch_size => 10000) > 0 AS ok;
CALL retention.run('rl');
-- exactly the undeletable row is left; the other 9,999 are gone
SELECT count(*) AS remaining, min(id) AS kept_id FROM rl_parent;
SELECT rows_affected, rows_failed, status, error FROM retention.purge_log
WHERE policy_name = 'rl' ORDER BY id;
SELECT last_status, consecutive_failures FROM retention.policies WHERE name = 'rl';

-- a trigger that raises for one row; the other policy in the same CALL still runs
CREATE TABLE rl_guarded (id int, created_at timestamptz);
INSERT INTO rl_guarded SELECT g, now() - interval '2 years' FROM generate_series(1, 50) g;
CREATE FUNCTION rl_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id = 7 THEN RAISE EXCEPTION 'row 7 is protected'; END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER rl_refuse BEFORE DELETE ON rl_guarded FOR EACH ROW EXECUTE FUNCTION rl_refuse();
SELECT retention.drop_policy('rl');
CREATE TABLE rl_plain (id int, created_at timestamptz);
INSERT INTO rl_plain SELECT g, now() - interval '2 years' FROM generate_series(1, 30) g;
SELECT retention.add_policy('rl_guarded', 'rl_guarded', 'created_at', '1 year', batch_size => 8,
                            priority => 1) > 0 AS ok;
SELECT retention.add_policy('rl_plain', 'rl_plain', 'created_at', '1 year',
                            priority => 2) > 0 AS ok;
CALL retention.run();
SELECT (SELECT array_agg(id) FROM rl_guarded) AS guarded_left,
       (SELECT count(*) FROM rl_plain) AS plain_left;
SELECT policy_name, rows_affected, rows_failed, status, first_error
FROM retention.audit WHERE policy_name LIKE 'rl_%' ORDER BY run_id;

-- the chain: links and hashes verify; ids are gapless
SELECT bool_and(prev_hash IS NOT DISTINCT FROM prev) AS links_ok,
       bool_and(length(hash) = 32) AS sha256,
       max(id) = count(*) AS gapless
FROM (SELECT id, hash, prev_hash, lag(hash) OVER (ORDER BY id) AS prev
      FROM retention.purge_log) AS chain;
SELECT ok, rows_checked = (SELECT count(*) FROM retention.purge_log) AS all_rows, first_bad_id
FROM retention.verify_audit();

-- append-only for everyone but a superuser
CREATE ROLE rl_auditor;
GRANT USAGE ON SCHEMA retention TO rl_auditor;
GRANT SELECT, UPDATE, DELETE, TRUNCATE ON retention.purge_log TO rl_auditor;
SET ROLE rl_auditor;
\set VERBOSITY sqlstate
UPDATE retention.purge_log SET rows_affected = 0 WHERE id = 1;
DELETE FROM retention.purge_log WHERE id = 1;
TRUNCATE retention.purge_log;
\set VERBOSITY default
RESET ROLE;
REVOKE ALL ON retention.purge_log FROM rl_auditor;
REVOKE ALL ON SCHEMA retention FROM rl_auditor;
DROP ROLE rl_auditor;

-- tampering by a superuser is detected at the row it touched
BEGIN;
UPDATE retention.purge_log SET rows_affected = rows_affected + 1 WHERE id = 2;
SELECT ok, rows_checked, first_bad_id FROM retention.verify_audit();
ROLLBACK;
BEGIN;
DELETE FROM retention.purge_log WHERE id = 3;
SELECT ok, rows_checked, first_bad_id FROM retention.verify_audit();
ROLLBACK;
SELECT ok FROM retention.verify_audit();

SELECT retention.drop_policy(name) FROM retention.policies WHERE name LIKE 'rl%';
