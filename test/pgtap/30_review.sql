-- Review of 0.2.0: the statements of a run execute with the search_path a new session of the
-- relation's owner gets; such a session has no temporary tables. The caller's own temporary
-- tables (a superuser's, or those of a role granted erase_subject) must not stand in for the
-- owner's tables in the owner's triggers: a temporary audit_log, granted to the owner, would
-- otherwise receive the rows the application's trigger writes to its own audit_log.
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(6);
SELECT current_database() AS db \gset
DO $$ BEGIN CREATE ROLE app30; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
GRANT CREATE ON SCHEMA public TO app30;
SET ROLE app30;
CREATE TABLE public.audit_log30 (op text, id int);
CREATE FUNCTION public.log_delete30() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_log30 (op, id) VALUES (TG_OP, OLD.id);
	RETURN OLD;
END $$;
CREATE TABLE public.events30 (id int, customer int, at timestamptz NOT NULL);
CREATE TRIGGER events30_log BEFORE DELETE ON public.events30
	FOR EACH ROW EXECUTE FUNCTION public.log_delete30();
INSERT INTO public.events30 SELECT g, g % 2, now() - interval '10 days' FROM generate_series(1, 5) g;
INSERT INTO public.events30 SELECT g, 7, now() FROM generate_series(6, 8) g;
SELECT retention.add_policy('events30', 'events30', 'at', '1 day', subject_column => 'customer')
	IS NOT NULL AS a \gset
RESET ROLE;
-- the caller's temporary table of the same name, which the owner may write
CREATE TEMP TABLE audit_log30 (op text, id int);
GRANT INSERT ON pg_temp.audit_log30 TO app30;
CALL retention.run('events30');
SELECT is((SELECT count(*) FROM public.events30), 3::bigint, 'the run removed the expired rows');
SELECT is((SELECT count(*) FROM public.audit_log30), 5::bigint,
          'the owner''s trigger wrote them to the owner''s audit_log30');
SELECT is((SELECT count(*) FROM pg_temp.audit_log30), 0::bigint,
          'and nothing to the caller''s temporary table of the same name');
-- erasure, by its caller, likewise
SELECT is((SELECT rows_erased FROM retention.erase_subject('7', 'request 30')), 3::bigint,
          'erase_subject removes the subject''s rows');
SELECT is((SELECT count(*) FROM public.audit_log30), 8::bigint,
          'the owner''s trigger logged the erasure in the owner''s audit_log30');
SELECT is((SELECT count(*) FROM pg_temp.audit_log30), 0::bigint,
          'and nothing in the caller''s temporary table');
SELECT * FROM finish();
