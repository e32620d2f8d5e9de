-- Code of the table's owner runs as the owner, and code of other roles keeps its own settings:
--  A. a domain's CHECK on a subject or tenant column is the owner's code: the conversions that
--     erasure, holds, tenant periods and runs make of a subject or tenant run it as the owner,
--     never as the (superuser) caller; what it sets stays out of the caller's session; and a
--     CHECK that fails for another reason than the value is raised, never read as "this table
--     cannot hold the subject";
--  B. the statements of a SECURITY DEFINER function of another role, with its own SET
--     search_path, are never given the owner's path: not after a relation-owner scope nested in
--     a trigger fails and is caught, and not when a domain's CHECK that erasure converts a
--     subject through calls it (nor is the plan it caches);
--  C. what a BEFORE ROW trigger sets with set_config(..., true) reaches the statement's AFTER
--     STATEMENT trigger, as it does for the application, and ends with the statement.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(18);

SELECT current_database() AS db \gset
DO $$ BEGIN CREATE ROLE oc_owner; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE oc_other; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT CREATE ON SCHEMA public TO oc_owner, oc_other;
GRANT CREATE ON DATABASE :"db" TO oc_owner, oc_other;
GRANT USAGE ON SCHEMA retention TO oc_owner;

-- A. ------------------------------------------------------------------------------------------
SET ROLE oc_owner;
CREATE TABLE public.oc_seen (what text, who name, super boolean);
CREATE FUNCTION public.oc_spy(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.oc_seen
	  SELECT what, current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
	IF pg_catalog.current_setting('oc.fail', true) = 'yes' THEN
		RAISE EXCEPTION 'oc: cannot check now' USING ERRCODE = '42501';
	END IF;
	PERFORM pg_catalog.set_config('search_path', 'oc_nowhere, pg_catalog', false);
	PERFORM pg_catalog.set_config('oc.by_owner', 'yes', false);
	RETURN true;
END $$;
CREATE DOMAIN public.oc_customer AS int CHECK (public.oc_spy('customer'));
CREATE DOMAIN public.oc_tenant AS int CHECK (public.oc_spy('tenant'));
CREATE TABLE public.oc_orders (id int PRIMARY KEY, customer public.oc_customer,
                               tenant public.oc_tenant, at timestamptz NOT NULL);
SELECT retention.add_policy('oc_orders', 'oc_orders', 'at', '30 days', subject_column => 'customer',
                            tenant_column => 'tenant') IS NOT NULL AS a \gset
RESET ROLE;
INSERT INTO public.oc_orders SELECT g, g % 5, g % 3, now() - interval '90 days' FROM generate_series(1, 30) g;
INSERT INTO public.oc_orders SELECT g, g % 5, g % 3, now() FROM generate_series(31, 40) g;
TRUNCATE public.oc_seen;
-- those inserts ran the checks in this session, directly
SET search_path = public;
RESET oc.by_owner;

SELECT is((SELECT count(*) FROM retention.erase_subject('4', 'request oc')), 1::bigint, 'erasure covers the table');
SELECT is((SELECT count(*) FROM public.oc_orders WHERE customer = 4), 0::bigint, 'the subject''s rows are gone');
SELECT retention.set_tenant_retain('oc_orders', '2', '100 days');
SELECT retention.place_hold('oc hold', subject => '1') AS hold \gset
CALL retention.run('oc_orders');
SELECT ok((SELECT count(*) FROM public.oc_seen WHERE what = 'tenant') > 0
          AND (SELECT count(*) FROM public.oc_seen WHERE what = 'customer') > 0,
          'erasure, the tenant period and the run converted through both domains');
-- expired: 30 rows minus customer 4's 6; kept: tenant 2 (100 days) and held customer 1
SELECT is((SELECT count(*) FROM public.oc_orders WHERE at < now() - interval '31 days'),
          (SELECT count(*) FROM generate_series(1, 30) g WHERE g % 5 <> 4 AND (g % 3 = 2 OR g % 5 = 1)),
          'the run removed the expired rows that no tenant period or hold keeps');
SELECT retention.release_hold(:hold);
SELECT is((SELECT count(*) FROM public.oc_seen WHERE who <> 'oc_owner' OR super), 0::bigint,
          'every domain check ran as the table''s owner, never as the superuser caller');
SELECT is(current_setting('search_path'), 'public', 'the checks'' set_config of search_path stayed out of this session');
SELECT is(coalesce(current_setting('oc.by_owner', true), ''), '', 'and so did their own setting');
SELECT count(*) AS customer2 FROM public.oc_orders WHERE customer = 2 \gset
SET oc.fail = 'yes';
SELECT throws_ok($$SELECT * FROM retention.erase_subject('2', 'request oc 2')$$, '42501', NULL,
                 'erasure raises when a domain check fails for another reason than the value');
RESET oc.fail;
SELECT is((SELECT count(*) FROM public.oc_orders WHERE customer = 2), :customer2::bigint, 'and removes nothing');

-- B. ------------------------------------------------------------------------------------------
SET ROLE oc_other;
CREATE SCHEMA oc_lib;
CREATE FUNCTION oc_lib.helper(int) RETURNS int LANGUAGE sql AS 'SELECT $1 + 1';
CREATE FUNCTION oc_lib.vouched() RETURNS int LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$BEGIN RETURN oc_lib.helper(1); END $$;
GRANT USAGE ON SCHEMA oc_lib TO PUBLIC;
RESET ROLE;
SET ROLE oc_owner;
CREATE SCHEMA oc_evil;
CREATE FUNCTION oc_evil.plus(int, int) RETURNS int LANGUAGE sql AS 'SELECT 1000';
CREATE OPERATOR oc_evil.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = oc_evil.plus);
GRANT USAGE ON SCHEMA oc_evil TO PUBLIC;
CREATE FUNCTION public.oc_boom(int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '42501'; END $$;
CREATE TABLE public.oc_fails (id int PRIMARY KEY, at timestamptz NOT NULL);
INSERT INTO public.oc_fails VALUES (1, now() - interval '90 days');
SELECT retention.add_policy('oc_fails', 'oc_fails', 'at', '30 days', keep_when => 'public.oc_boom(id)') IS NOT NULL AS b \gset
CREATE TABLE public.oc_log (id int, vouched int);
CREATE TABLE public.oc_events (id int PRIMARY KEY, at timestamptz NOT NULL);
CREATE FUNCTION public.oc_events_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		PERFORM * FROM retention.preview('oc_fails'); -- raises, as oc_fails's keep_when does
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
	INSERT INTO public.oc_log VALUES (OLD.id, oc_lib.vouched());
	RETURN OLD;
END $$;
CREATE TRIGGER oc_events_delete BEFORE DELETE ON public.oc_events
  FOR EACH ROW EXECUTE FUNCTION public.oc_events_delete();
SELECT retention.add_policy('oc_events', 'oc_events', 'at', '30 days') IS NOT NULL AS c \gset
RESET ROLE;
ALTER ROLE oc_owner IN DATABASE :"db" SET search_path = oc_evil, pg_catalog, public;
INSERT INTO public.oc_events VALUES (1, now() - interval '90 days'), (2, now() - interval '90 days');
CALL retention.run('oc_events');
SELECT is((SELECT count(*) FROM public.oc_events), 0::bigint, 'the run removed both expired rows');
SELECT is((SELECT array_agg(DISTINCT vouched) FROM public.oc_log), ARRAY[2],
          'the other role''s function kept its own search_path (pg_catalog''s +, not oc_evil''s)');

-- a function of the other role, called first (and so planned and cached) by a domain CHECK
SET ROLE oc_other;
CREATE FUNCTION oc_lib.vouched_too() RETURNS int LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$BEGIN RETURN oc_lib.helper(1); END $$;
RESET ROLE;
SET ROLE oc_owner;
CREATE TABLE public.oc_vouch_log (value int);
CREATE FUNCTION public.oc_vouch_check(value int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.oc_vouch_log VALUES (value);
	RETURN true;
END $$;
CREATE DOMAIN public.oc_account AS int;
CREATE TABLE public.oc_accounts (id int PRIMARY KEY, customer public.oc_account, at timestamptz NOT NULL);
SELECT retention.add_policy('oc_accounts', 'oc_accounts', 'at', '30 days',
                            subject_column => 'customer') IS NOT NULL AS e \gset
RESET ROLE;
INSERT INTO public.oc_accounts VALUES (1, 3, now()), (2, 5, now());
SET ROLE oc_owner;
-- the CHECK expression calls the other role's function itself; NOT VALID: not called yet
ALTER DOMAIN public.oc_account ADD CONSTRAINT oc_vouched
  CHECK (public.oc_vouch_check(oc_lib.vouched_too())) NOT VALID;
RESET ROLE;
SELECT is((SELECT count(*) FROM retention.erase_subject('3', 'request oc 3') WHERE relation = 'public.oc_accounts'::regclass),
          1::bigint, 'erasure covers oc_accounts');
SELECT is((SELECT array_agg(DISTINCT value) FROM public.oc_vouch_log), ARRAY[2],
          'the domain check''s call of the other role''s function kept that function''s own search_path');
SELECT is(oc_lib.vouched_too(), 2, 'and the plan that function cached in this session is its own');
ALTER ROLE oc_owner IN DATABASE :"db" RESET search_path;

-- C. ------------------------------------------------------------------------------------------
SET ROLE oc_owner;
CREATE TABLE public.oc_notes (id int PRIMARY KEY, at timestamptz NOT NULL);
CREATE TABLE public.oc_note_log (seen text);
CREATE FUNCTION public.oc_note_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_catalog.set_config('oc.deleting', 'row ' || OLD.id, true);
	RETURN OLD;
END $$;
CREATE FUNCTION public.oc_note_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.oc_note_log VALUES (pg_catalog.current_setting('oc.deleting', true));
	RETURN NULL;
END $$;
CREATE TRIGGER oc_notes_before BEFORE DELETE ON public.oc_notes
  FOR EACH ROW EXECUTE FUNCTION public.oc_note_before();
CREATE TRIGGER oc_notes_after AFTER DELETE ON public.oc_notes
  FOR EACH STATEMENT EXECUTE FUNCTION public.oc_note_after();
SELECT retention.add_policy('oc_notes', 'oc_notes', 'at', '30 days') IS NOT NULL AS d \gset
RESET ROLE;
INSERT INTO public.oc_notes VALUES (7, now() - interval '90 days');
-- the application's own statement, for comparison
INSERT INTO public.oc_notes VALUES (8, now());
DELETE FROM public.oc_notes WHERE id = 8;
SELECT is((SELECT seen FROM public.oc_note_log), 'row 8', 'an application DELETE: the AFTER trigger sees the value');
TRUNCATE public.oc_note_log;
CALL retention.run('oc_notes');
SELECT is((SELECT count(*) FROM public.oc_notes), 0::bigint, 'the run removed the expired row');
SELECT is((SELECT seen FROM public.oc_note_log), 'row 7',
          'under the run the AFTER STATEMENT trigger sees what the BEFORE ROW trigger set');
SELECT is(coalesce(current_setting('oc.deleting', true), ''), '', 'and the value ended with the statement');
SELECT * FROM finish();
