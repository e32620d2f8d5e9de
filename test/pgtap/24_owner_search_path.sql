-- runs, erasure and export execute on a relation with the search_path a new session of its
-- owner gets in the database (ALTER ROLE ... IN DATABASE, else ALTER ROLE, else ALTER DATABASE,
-- else the server's), never the caller's: an application trigger that names its audit table
-- without a schema works under retention as it does for the application. The policy's own
-- expressions and the statements retention builds keep their meaning whatever that path holds:
-- operators planted ahead of pg_catalog on it are never bound.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(42);

SELECT current_database() AS db \gset
DO $$ BEGIN CREATE ROLE sp_owner24; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
ALTER ROLE sp_owner24 RESET ALL;
GRANT CREATE ON SCHEMA public TO sp_owner24;
GRANT CREATE ON DATABASE :"db" TO sp_owner24;
GRANT USAGE ON SCHEMA retention TO sp_owner24;
SET ROLE sp_owner24;
CREATE SCHEMA app24;
CREATE TABLE app24.audit_log (op text, id int);
-- the application's trigger names its audit table without a schema
CREATE FUNCTION public.log_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log (op, id) VALUES (TG_OP, OLD.id);
	RETURN OLD;
END $$;
CREATE TABLE public.events (id int PRIMARY KEY, customer int, note text, at timestamptz NOT NULL);
CREATE TRIGGER events_log BEFORE DELETE ON public.events FOR EACH ROW EXECUTE FUNCTION public.log_delete();
SELECT retention.add_policy('events24', 'events', 'at + interval ''1 day''', '30 days',
                            keep_when => $$note = 'keep'$$, subject_column => 'customer') IS NOT NULL AS a \gset
RESET ROLE;

-- each case: 20 expired rows, 2 of them kept by keep_when, and 5 recent rows
CREATE FUNCTION pg_temp.refill(k int) RETURNS void LANGUAGE sql AS $$
	INSERT INTO public.events SELECT 1000 * k + g, g % 5, CASE WHEN g <= 2 THEN 'keep' END, now() - interval '90 days'
	  FROM generate_series(1, 20) g;
	INSERT INTO public.events SELECT 1000 * k + 100 + g, g % 5, NULL, now() - interval '1 hour'
	  FROM generate_series(1, 5) g;
$$;
CREATE FUNCTION pg_temp.expired_left() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM public.events WHERE at < now() - interval '31 days' AND note IS DISTINCT FROM 'keep' $$;

-- no setting anywhere: the server's default, "$user", public; the caller's own path (which
-- has app24) does not leak into the run, so the trigger cannot find its table (every row
-- fails on its own: the run is partial, with the trigger's error)
SET search_path = app24, public;
SELECT pg_temp.refill(1);
CALL retention.run('events24');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'events24'), 'partial',
          'without a setting of the owner''s, the caller''s search_path is not used: the trigger fails');
SELECT is(pg_temp.expired_left(), 18::bigint, 'and its rows stay');
SET search_path = public;

-- 1. ALTER ROLE ... IN DATABASE
ALTER ROLE sp_owner24 IN DATABASE :"db" SET search_path = app24, public;
ALTER DATABASE :"db" SET search_path = public;
CALL retention.run('events24');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'events24'), 'ok',
          'ALTER ROLE ... IN DATABASE: the run is ok (ahead of the database setting)');
SELECT is(pg_temp.expired_left(), 0::bigint, 'the expired rows are gone');
SELECT is((SELECT count(*) FROM app24.audit_log WHERE op = 'DELETE'), 18::bigint, 'the trigger wrote a row for each');
SELECT is((SELECT count(*) FROM public.events), 7::bigint, 'kept and recent rows stay');
ALTER ROLE sp_owner24 IN DATABASE :"db" RESET search_path;
ALTER DATABASE :"db" RESET search_path;

-- 2. ALTER ROLE
ALTER ROLE sp_owner24 SET search_path = app24, public;
SELECT pg_temp.refill(2);
CALL retention.run('events24');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'events24'), 'ok', 'ALTER ROLE: the run is ok');
SELECT is(pg_temp.expired_left(), 0::bigint, 'the expired rows are gone');
SELECT is((SELECT count(*) FROM app24.audit_log WHERE op = 'DELETE'), 36::bigint, 'the trigger wrote a row for each');
ALTER ROLE sp_owner24 RESET search_path;

-- 3. ALTER DATABASE
ALTER DATABASE :"db" SET search_path = app24, public;
SELECT pg_temp.refill(3);
CALL retention.run('events24');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'events24'), 'ok', 'ALTER DATABASE: the run is ok');
SELECT is(pg_temp.expired_left(), 0::bigint, 'the expired rows are gone');
SELECT is((SELECT count(*) FROM app24.audit_log WHERE op = 'DELETE'), 54::bigint, 'the trigger wrote a row for each');
SELECT is((SELECT count(*) FROM public.events), 21::bigint, 'kept and recent rows stay');

-- erasure and export, with the same path
SELECT is((SELECT rows_erased FROM retention.erase_subject('3', 'request 24')), 3::bigint,
          'erase_subject deletes the subject''s rows through the trigger');
SELECT is((SELECT count(*) FROM public.events WHERE customer = 3), 0::bigint, 'the subject''s rows are gone');
SELECT is((SELECT count(*) FROM app24.audit_log WHERE op = 'DELETE'), 57::bigint, 'the trigger logged the erasure');
SELECT is(jsonb_array_length(retention.export_subject('4') -> 'public.events'), 3, 'export_subject reads the subject''s rows');
ALTER DATABASE :"db" RESET search_path;

-- planted operators ahead of pg_catalog on the owner's path never bind: not in the policy's
-- expressions (+ in the trigger, = in keep_when), nor in the statements retention builds
-- (< of the expiry rule, = of the subject's column)
SET ROLE sp_owner24;
CREATE FUNCTION app24.always(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR app24.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = app24.always);
CREATE FUNCTION app24.long_ago(timestamptz, interval) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$SELECT '-infinity'::timestamptz$$;
CREATE OPERATOR app24.+ (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = app24.long_ago);
CREATE FUNCTION app24.never(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
CREATE OPERATOR app24.= (LEFTARG = text, RIGHTARG = text, FUNCTION = app24.never);
CREATE FUNCTION app24.every(int, int) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR app24.= (LEFTARG = int, RIGHTARG = int, FUNCTION = app24.every);
RESET ROLE;
ALTER ROLE sp_owner24 IN DATABASE :"db" SET search_path = app24, pg_catalog, public;
SELECT pg_temp.refill(4);
SELECT is((SELECT rows_expired FROM retention.preview('events24')), 18::bigint,
          'preview counts the expired rows only');
CALL retention.run('events24');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'events24'), 'ok', 'the run is ok');
SELECT is(pg_temp.expired_left(), 0::bigint, 'the expired rows are gone');
SELECT is((SELECT count(*) FROM public.events WHERE note = 'keep'), 8::bigint,
          'rows kept by keep_when stay (its = is pg_catalog''s)');
SELECT is((SELECT count(*) FROM public.events WHERE at > now() - interval '1 day'), 17::bigint,
          'recent rows stay (the trigger''s + and the rule''s < are pg_catalog''s)');
SELECT is((SELECT count(*) FROM app24.audit_log WHERE op = 'DELETE'), 75::bigint, 'the trigger still logs');
SELECT is((SELECT rows_overdue FROM retention.compliance WHERE policy_name = 'events24'), 0::bigint,
          'compliance sees nothing overdue');
SELECT is((SELECT rows_erased FROM retention.erase_subject('2', 'request 24b')), 8::bigint,
          'erase_subject removes only the subject''s rows (its = is the column type''s)');
SELECT is((SELECT count(*) FROM public.events), 17::bigint, 'no other row is erased');

ALTER ROLE sp_owner24 IN DATABASE :"db" RESET search_path;

-- operators that match the argument types better than pg_catalog's never bind either, wherever
-- their schema is on the path (here after pg_catalog): pg_catalog has no varchar = text (the
-- policy's = is texteq over an implicit cast) and no text[] @> text[] (its @> takes anyarray)
SET ROLE sp_owner24;
CREATE TABLE public.tickets (id int PRIMARY KEY, status varchar(10), tags text[], at timestamptz NOT NULL);
SELECT retention.add_policy('tickets24', 'tickets', 'at', '30 days',
                            keep_when => $$status = 'open' OR tags @> ARRAY['hold']$$) IS NOT NULL AS b \gset
CREATE FUNCTION app24.vc_never(varchar, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
CREATE OPERATOR app24.= (LEFTARG = varchar, RIGHTARG = text, FUNCTION = app24.vc_never);
CREATE FUNCTION app24.arr_never(text[], text[]) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
CREATE OPERATOR app24.@> (LEFTARG = text[], RIGHTARG = text[], FUNCTION = app24.arr_never);
RESET ROLE;
ALTER ROLE sp_owner24 IN DATABASE :"db" SET search_path = pg_catalog, app24, public;
-- 10 expired rows (3 open, 3 on hold, 4 neither) and 2 recent ones
INSERT INTO public.tickets SELECT g, CASE WHEN g <= 3 THEN 'open' ELSE 'closed' END,
       CASE WHEN g BETWEEN 4 AND 6 THEN ARRAY['hold', 'vip'] ELSE ARRAY['vip'] END, now() - interval '90 days'
  FROM generate_series(1, 10) g;
INSERT INTO public.tickets VALUES (11, 'closed', '{}', now()), (12, 'closed', '{}', now());
SELECT is((SELECT rows_expired FROM retention.preview('tickets24')), 4::bigint,
          'preview counts the 4 expired rows that keep_when does not keep');
CALL retention.run('tickets24');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'tickets24'), 'ok', 'the run is ok');
SELECT is((SELECT count(*) FROM public.tickets WHERE status = 'open'), 3::bigint,
          'open rows stay (keep_when''s = is texteq, not app24''s varchar = text)');
SELECT is((SELECT count(*) FROM public.tickets WHERE 'hold' = ANY (tags)), 3::bigint,
          'rows on hold stay (keep_when''s @> is the anyarray one, not app24''s text[] @> text[])');
SELECT is((SELECT count(*) FROM public.tickets), 8::bigint, 'only the 4 expired rows are gone');
SELECT is((SELECT sum(rows_affected)::bigint FROM retention.purge_log WHERE policy_name = 'tickets24'), 4::bigint,
          'and the audit counts 4');

-- only the policy's text is parsed with pg_catalog alone: a SQL function it calls, which the
-- planner inlines, still finds what it names without a schema on the owner's path
SET ROLE sp_owner24;
SET check_function_bodies = off; -- on_hold's body resolves on the owner's path, not this one
CREATE FUNCTION app24.hold_tag() RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT 'hold'$$;
CREATE FUNCTION app24.on_hold(tags text[]) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$SELECT hold_tag() = ANY (tags)$$;
RESET check_function_bodies;
CREATE TABLE public.notes24 (id int PRIMARY KEY, tags text[], at timestamptz NOT NULL);
SELECT retention.add_policy('notes24', 'notes24', 'at', '30 days',
                            keep_when => 'app24.on_hold(tags)') IS NOT NULL AS b \gset
RESET ROLE;
-- 7 expired rows (4 on hold) and 1 recent one
INSERT INTO public.notes24 SELECT g, CASE WHEN g <= 4 THEN ARRAY['hold'] ELSE ARRAY['x'] END,
       now() - interval '90 days' FROM generate_series(1, 7) g;
INSERT INTO public.notes24 VALUES (8, '{}', now());
SELECT is((SELECT rows_expired FROM retention.preview('notes24')), 3::bigint,
          'preview counts the 3 expired rows not on hold');
CALL retention.run('notes24');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'notes24'), 'ok',
          'the run is ok (the inlined body resolved hold_tag() on the owner''s path)');
SELECT is((SELECT count(*) FROM public.notes24 WHERE 'hold' = ANY (tags)), 4::bigint,
          'rows on hold stay');
SELECT is((SELECT count(*) FROM public.notes24), 5::bigint, 'only the 3 expired rows are gone');

-- what a trigger sets ends with its statement, even set_config(..., false) next to a function
-- whose own SET names a path: the caller's session keeps its search_path, and the statements
-- after it are parsed as before. And a schema any role with CREATE on the database can make
-- (here named as an earlier parse path was) is never searched while they are parsed.
SET ROLE sp_owner24;
CREATE TABLE public.msgs24 (id int PRIMARY KEY, tags text[], at timestamptz NOT NULL);
CREATE FUNCTION app24.clobber() RETURNS void LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp, "retention: parse with pg_catalog alone"
  AS $$BEGIN PERFORM 1 FROM pg_catalog.pg_class LIMIT 1; END $$;
CREATE FUNCTION app24.msgs_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM app24.clobber();
	PERFORM pg_catalog.set_config('search_path', 'app24', false);
	RETURN OLD;
END $$;
CREATE TRIGGER msgs24_delete BEFORE DELETE ON public.msgs24
  FOR EACH ROW EXECUTE FUNCTION app24.msgs_delete();
SELECT retention.add_policy('msgs24', 'msgs24', 'at', '30 days',
                            keep_when => $$tags IS DISTINCT FROM '{}'::text[]$$) IS NOT NULL AS c \gset
RESET ROLE;
DO $$ BEGIN CREATE ROLE sp_other24; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT CREATE ON DATABASE :"db" TO sp_other24;
SET ROLE sp_other24;
CREATE SCHEMA "retention: parse with pg_catalog alone";
CREATE FUNCTION "retention: parse with pg_catalog alone".always(text[], text[]) RETURNS boolean
  LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR "retention: parse with pg_catalog alone".= (LEFTARG = text[], RIGHTARG = text[],
  FUNCTION = "retention: parse with pg_catalog alone".always);
GRANT USAGE ON SCHEMA "retention: parse with pg_catalog alone" TO PUBLIC;
RESET ROLE;
-- 6 expired rows (3 tagged, which keep_when keeps) and 2 recent ones
INSERT INTO public.msgs24 SELECT g, CASE WHEN g <= 3 THEN ARRAY['x'] ELSE '{}' END,
       now() - interval '90 days' FROM generate_series(1, 6) g;
INSERT INTO public.msgs24 VALUES (7, '{}', now()), (8, '{}', now());
SET search_path = public;
SELECT is((SELECT rows_expired FROM retention.preview('msgs24')), 3::bigint,
          'preview counts the 3 untagged expired rows (IS DISTINCT FROM uses pg_catalog''s =)');
CALL retention.run('msgs24');
SELECT is(current_setting('search_path'), 'public', 'the caller''s search_path is unchanged after the run');
SELECT is((SELECT last_status FROM retention.policies WHERE name = 'msgs24'), 'ok', 'the run is ok');
SELECT is((SELECT count(*) FROM public.msgs24 WHERE tags = ARRAY['x']), 3::bigint, 'tagged rows stay');
SELECT is((SELECT count(*) FROM public.msgs24), 5::bigint, 'only the 3 untagged expired rows are gone');
SELECT is((SELECT sum(rows_affected)::bigint FROM retention.purge_log WHERE policy_name = 'msgs24'), 3::bigint,
          'and the audit counts 3');
RESET search_path;
ALTER ROLE sp_owner24 IN DATABASE :"db" RESET search_path;
SELECT * FROM finish();
