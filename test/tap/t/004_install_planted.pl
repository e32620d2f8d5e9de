# CREATE EXTENSION in a database an ordinary role owns (CVE-2022-2625 class): the owner plants
# functions, aggregates and operators in public that overload every name the 0.1.0 script used
# without a schema (nextval(text) beats nextval(regclass) for a literal, unnest(text[]) beats
# unnest(anyarray), = (numeric, integer) beats a cast to numeric = numeric ...), each one logging
# that it ran and, when it runs as a superuser, making the owner one. A superuser then creates the
# extension and the owner (and the DBA) use it. With 0.2.0 nothing planted is bound or runs; with
# the frozen 0.1.0 script, in another database, the same plants make the owner a superuser, which
# proves the test can fail; ALTER EXTENSION UPDATE from that 0.1.0 binds pg_catalog again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('planted');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.enabled = off
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE appowner LOGIN;
	CREATE DATABASE appdb OWNER appowner;
	CREATE DATABASE olddb OWNER appowner;
});

sub as_owner
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql, connstr => $node->connstr($db) . ' user=appowner');
}

# Queries of the test itself, as the superuser, pin search_path so that no plant runs for them.
sub as_dba
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, "SET search_path = pg_catalog, pg_temp;\n$sql");
}

# What the database owner plants in public before the extension is created.
my $plant = q{
CREATE TABLE public.planted_calls (what text, ran_as name, query text);
GRANT INSERT ON public.planted_calls TO PUBLIC;

CREATE FUNCTION public.planted_hit(what text) RETURNS void LANGUAGE plpgsql AS $body$
BEGIN
    INSERT INTO public.planted_calls VALUES (what, current_user, pg_catalog.current_query());
    BEGIN
        IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r
            WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN
            ALTER ROLE appowner SUPERUSER;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        NULL;  -- not allowed here (a security-restricted operation): the log row says it ran
    END;
END
$body$;

-- functions: the names of 0.1.0 (nextval, unnest, cardinality), now() (which 0.1.0 qualified),
-- and names a script is likely to use with arguments that pg_catalog takes as "any"/anyarray
CREATE FUNCTION public.nextval(text) RETURNS bigint LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('nextval(text)'); RETURN pg_catalog.nextval($1::pg_catalog.regclass); END
$body$;
CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('unnest(text[])'); RETURN QUERY SELECT pg_catalog.unnest($1); END
$body$;
CREATE FUNCTION public.cardinality(text[]) RETURNS integer LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('cardinality(text[])'); RETURN pg_catalog.cardinality($1); END
$body$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('now()'); RETURN pg_catalog.now(); END
$body$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('format(text, text)'); RETURN pg_catalog.format($1, $2); END
$body$;
CREATE FUNCTION public.format(text, text, text) RETURNS text LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('format(text, text, text)'); RETURN pg_catalog.format($1, $2, $3); END
$body$;
CREATE FUNCTION public.concat(text, text) RETURNS text LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('concat(text, text)'); RETURN pg_catalog.concat($1, $2); END
$body$;
CREATE FUNCTION public.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('jsonb_build_object(text, text)'); RETURN pg_catalog.jsonb_build_object($1, $2); END
$body$;
CREATE FUNCTION public.array_length(text[], integer) RETURNS integer LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('array_length(text[], integer)'); RETURN pg_catalog.array_length($1, $2); END
$body$;

-- aggregates (also usable as window functions): the aggregates of the 0.1.0 views and of
-- verify_audit, with the argument types they are called with there
CREATE FUNCTION public.planted_step(state anyelement, value anyelement, what text)
RETURNS anyelement LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit(what); RETURN coalesce(state, value); END
$body$;
CREATE FUNCTION public.planted_text_array(state text[], value text) RETURNS text[]
LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('array_agg(text)'); RETURN pg_catalog.array_append(state, value); END
$body$;
CREATE AGGREGATE public.array_agg(text) (SFUNC = public.planted_text_array, STYPE = text[]);
CREATE FUNCTION public.planted_count(state bigint) RETURNS bigint LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('count(*)'); RETURN state OPERATOR(pg_catalog.+) 1; END
$body$;
CREATE AGGREGATE public.count(*) (SFUNC = public.planted_count, STYPE = bigint, INITCOND = '0');
CREATE FUNCTION public.planted_sum(state numeric, value bigint) RETURNS numeric LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('sum(bigint)'); RETURN coalesce(state, 0) OPERATOR(pg_catalog.+) value; END
$body$;
CREATE AGGREGATE public.sum(bigint) (SFUNC = public.planted_sum, STYPE = numeric);
CREATE FUNCTION public.planted_sum4(state bigint, value integer) RETURNS bigint LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('sum(integer)'); RETURN coalesce(state, 0) OPERATOR(pg_catalog.+) value; END
$body$;
CREATE AGGREGATE public.sum(integer) (SFUNC = public.planted_sum4, STYPE = bigint);
CREATE FUNCTION public.planted_bool_or(state boolean, value boolean) RETURNS boolean LANGUAGE plpgsql AS $body$
BEGIN PERFORM public.planted_hit('bool_or(boolean)'); RETURN state OR value; END
$body$;
CREATE AGGREGATE public.bool_or(boolean) (SFUNC = public.planted_bool_or, STYPE = boolean);
DO $do$
DECLARE
    agg record;
BEGIN
    FOR agg IN SELECT * FROM (VALUES ('min', 'text'), ('min', 'timestamptz'), ('max', 'timestamptz'),
                                     ('max', 'integer'), ('lag', 'bytea'), ('last_value', 'bytea'))
                             AS a(name, type) LOOP
        EXECUTE pg_catalog.format(
            'CREATE FUNCTION public.%I(state %s, value %s) RETURNS %s LANGUAGE sql AS %L',
            'planted_' || agg.name || '_' || agg.type, agg.type, agg.type, agg.type,
            pg_catalog.format('SELECT public.planted_step($1, $2, %L)',
                              agg.name || '(' || agg.type || ')'));
        EXECUTE pg_catalog.format('CREATE AGGREGATE public.%I(%s) (SFUNC = public.%I, STYPE = %s)',
                                  agg.name, agg.type, 'planted_' || agg.name || '_' || agg.type,
                                  agg.type);
    END LOOP;
END
$do$;

-- operators: for every comparison and arithmetic operator, and every pair of the types that
-- the scripts compare, an operator of exactly those types wherever pg_catalog resolves the pair
-- only through a cast or a polymorphic operator (an exact pg_catalog one would hide it anyway)
DO $do$
DECLARE
    op text;
    l text;
    r text;
    result_type text;
    n int := 0;
    types text[] := ARRAY['smallint', 'integer', 'bigint', 'numeric', 'text', 'name', 'boolean',
                          'bytea', 'timestamptz', 'date', 'interval', 'oid', 'regclass', 'jsonb',
                          'tid', 'xid', 'text[]', 'bigint[]', 'timestamptz[]'];
BEGIN
    FOREACH op IN ARRAY ARRAY['=', '<>', '<', '<=', '>', '>=', '+', '-'] LOOP
        FOREACH l IN ARRAY types LOOP
            FOREACH r IN ARRAY types LOOP
                CONTINUE WHEN EXISTS (
                    SELECT FROM pg_catalog.pg_operator AS o
                    WHERE o.oprname OPERATOR(pg_catalog.=) op
                      AND o.oprnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
                      AND o.oprleft OPERATOR(pg_catalog.=) l::pg_catalog.regtype
                      AND o.oprright OPERATOR(pg_catalog.=) r::pg_catalog.regtype);
                BEGIN
                    EXECUTE pg_catalog.format(
                        'SELECT pg_catalog.pg_typeof(NULL::%s OPERATOR(pg_catalog.%s) NULL::%s)::text',
                        l, op, r) INTO result_type;
                EXCEPTION WHEN OTHERS THEN
                    CONTINUE;  -- pg_catalog has nothing for this pair: nothing to hijack
                END;
                n := n + 1;
                EXECUTE pg_catalog.format(
                    'CREATE FUNCTION public.planted_op_%s(%s, %s) RETURNS %s LANGUAGE plpgsql AS %L',
                    n, l, r, result_type,
                    pg_catalog.format('BEGIN PERFORM public.planted_hit(%L); '
                                      'RETURN $1 OPERATOR(pg_catalog.%s) $2; END',
                                      pg_catalog.format('%s %s %s', l, op, r), op));
                EXECUTE pg_catalog.format(
                    'CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = public.planted_op_%s)',
                    op, l, r, n);
            END LOOP;
        END LOOP;
    END LOOP;
    RAISE NOTICE 'planted % operators', n;
END
$do$;
};

# Every function, operator or type outside pg_catalog and the extension's own schemas that an
# object of the extension was bound to when it was created: column defaults, CHECK
# constraints, indexes, view rules, triggers, functions. (The bodies of SQL functions are not
# bound at creation; they are covered by pinned search_path and the lint.)
my $foreign_bindings = q{
WITH ext AS (
    SELECT d.classid, d.objid FROM pg_depend AS d
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
      AND d.refobjid = (SELECT e.oid FROM pg_extension AS e WHERE e.extname = 'retention')
),
ext_rel AS (SELECT objid AS relid FROM ext WHERE classid = 'pg_class'::regclass),
bound AS (
    SELECT d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid FROM pg_depend AS d
    WHERE (d.classid, d.objid) IN (SELECT classid, objid FROM ext)
       OR (d.classid = 'pg_rewrite'::regclass
           AND d.objid IN (SELECT r.oid FROM pg_rewrite AS r WHERE r.ev_class IN (SELECT relid FROM ext_rel)))
       OR (d.classid = 'pg_attrdef'::regclass
           AND d.objid IN (SELECT a.oid FROM pg_attrdef AS a WHERE a.adrelid IN (SELECT relid FROM ext_rel)))
       OR (d.classid = 'pg_constraint'::regclass
           AND d.objid IN (SELECT c.oid FROM pg_constraint AS c WHERE c.conrelid IN (SELECT relid FROM ext_rel)))
       OR (d.classid = 'pg_trigger'::regclass
           AND d.objid IN (SELECT t.oid FROM pg_trigger AS t WHERE t.tgrelid IN (SELECT relid FROM ext_rel)))
       OR (d.classid = 'pg_class'::regclass
           AND d.objid IN (SELECT i.indexrelid FROM pg_index AS i WHERE i.indrelid IN (SELECT relid FROM ext_rel)))
)
SELECT DISTINCT pg_describe_object(b.classid, b.objid, b.objsubid) || ' -> '
       || pg_describe_object(b.refclassid, b.refobjid, 0)
FROM bound AS b
WHERE b.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass, 'pg_type'::regclass)
  AND (pg_identify_object(b.refclassid, b.refobjid, 0)).schema
      NOT IN ('pg_catalog', 'retention', '_retention')
ORDER BY 1;
};

# The owner uses the extension on a table of its own; the DBA grants the rest and reads.
sub use_extension
{
	my ($db, $policy, %opt) = @_;
	as_dba($db, q{
		GRANT EXECUTE ON FUNCTION retention.place_hold(text, text, text, text),
		                          retention.release_hold(bigint),
		                          retention.verify_audit(bigint, bytea), retention.audit_head() TO appowner;
	});
	as_dba($db, q{
		GRANT SELECT ON retention.policies, retention.audit, retention.daily_summary,
		                retention.policy_changes, retention.compliance, retention.holds,
		                retention.purge_log TO appowner;
	}) if $opt{views};
	as_owner($db, qq{
		CREATE TABLE t_$policy (id int PRIMARY KEY, at timestamptz NOT NULL);
		INSERT INTO t_$policy SELECT g, pg_catalog.now() - interval '2 years'
		    FROM pg_catalog.generate_series(1, 100) AS g;
		INSERT INTO t_$policy SELECT g, pg_catalog.now() FROM pg_catalog.generate_series(101, 110) AS g;
		SELECT retention.add_policy('$policy', 't_$policy', 'at', '30 days', batch_size => 30);
		SELECT retention.alter_policy('$policy', retain => '60 days');
		SELECT retention.release_hold(retention.place_hold('audit', policy_name => '$policy'));
		SELECT rows_expired FROM retention.preview('$policy');
		CALL retention.run('$policy');
		SELECT ok FROM retention.verify_audit();
	});
	return unless $opt{views};
	as_owner($db, q{
		SELECT count(*) FROM retention.policies;
		SELECT count(*) FROM retention.audit;
		SELECT count(*) FROM retention.daily_summary;
		SELECT count(*) FROM retention.policy_changes;
		SELECT count(*) FROM retention.compliance;
		SELECT count(*) FROM retention.holds;
	});
	# the DBA reads them too, without pinning search_path (plain SELECTs of a session)
	$node->safe_psql($db, q{
		SELECT * FROM retention.audit;
		SELECT * FROM retention.daily_summary;
		SELECT * FROM retention.policies;
		SELECT * FROM retention.compliance;
		SELECT * FROM retention.verify_audit();
	});
}

sub is_superuser
{
	return $node->safe_psql('postgres',
		"SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = 'appowner'");
}

sub planted_calls
{
	my ($db) = @_;
	return as_dba($db, q{
		SELECT string_agg(format('%s as %s', what, ran_as), ', ' ORDER BY what, ran_as)
		FROM (SELECT DISTINCT what, ran_as FROM public.planted_calls) AS c});
}

# --- 0.2.0: nothing planted is bound or runs
as_owner($_, $plant) for ('appdb', 'olddb');
cmp_ok(as_dba('appdb', "SELECT count(*) FROM pg_operator WHERE oprnamespace = 'public'::regnamespace"),
	'>', 100, 'the owner planted operators for the pairs pg_catalog matches only through a cast');

$node->safe_psql('appdb', 'CREATE EXTENSION retention');
is(as_dba('appdb', q{SELECT extversion FROM pg_extension WHERE extname = 'retention'}), '0.2.0',
	'CREATE EXTENSION installs 0.2.0');
is(planted_calls('appdb'), '', 'nothing planted runs during CREATE EXTENSION');
is(as_dba('appdb', $foreign_bindings), '',
	'no object of the extension is bound to a function, operator or type outside pg_catalog');
# (printed under search_path pg_catalog: a function of another schema would show its schema)
is(as_dba('appdb', q{
	SELECT string_agg(def, ', ' ORDER BY def)
	FROM (SELECT a.attrelid::regclass || '.' || a.attname || ' = ' || pg_get_expr(d.adbin, d.adrelid)
	      FROM pg_attrdef AS d JOIN pg_attribute AS a ON (a.attrelid, a.attnum) = (d.adrelid, d.adnum)
	      WHERE pg_get_expr(d.adbin, d.adrelid) LIKE '%nextval%') AS defaults(def)}),
	'_retention.hold.id = nextval(\'_retention.hold_id_seq\'::regclass), '
	  . '_retention.policy.id = nextval(\'_retention.policy_id_seq\'::regclass), '
	  . '_retention.policy_change.id = nextval(\'_retention.policy_change_id_seq\'::regclass)',
	'the id defaults call pg_catalog.nextval(regclass)');

use_extension('appdb', 'fresh', views => 1);
is(as_dba('appdb', q{SELECT count(*) FROM public.t_fresh}), '10',
	'the owner\'s policy ran: the 100 expired rows are gone, the 10 recent ones stay');
is(as_dba('appdb', q{SELECT count(*) FROM retention.purge_log WHERE policy_name = 'fresh' AND kind = 'hold'}),
	'1', 'the hold was placed through the id default');
is(planted_calls('appdb'), '', 'nothing planted ran while the owner and the DBA used the extension');
is(is_superuser(), 'f', 'the owner is not a superuser');

# --- the same plants against the frozen 0.1.0 script: the test can fail
$node->safe_psql('olddb', q{CREATE EXTENSION retention VERSION '0.1.0'});
my $bindings = as_dba('olddb', $foreign_bindings);
like($bindings, qr/default value for column id of table _retention.policy -> function public.nextval\(text\)/,
	'0.1.0 binds the policy id default to the planted nextval(text)');
like($bindings, qr/rule _RETURN on view retention.audit -> function public.unnest\(text\[\]\)/,
	'and retention.audit to the planted unnest(text[])');
like($bindings, qr/rule _RETURN on view retention.audit -> operator public.=\(numeric,integer\)/,
	'and its sum(...) = 0 to the planted = (numeric, integer)');

as_owner('olddb', q{
	CREATE TABLE t_old (id int, at timestamptz);
	INSERT INTO t_old SELECT g, pg_catalog.now() - interval '2 years'
	    FROM pg_catalog.generate_series(1, 10) AS g;
	SELECT retention.add_policy('old', 't_old', 'at', '30 days');
});
is(is_superuser(), 't', 'with 0.1.0, add_policy by the owner makes the owner a superuser (the issue)');
like(planted_calls('olddb'), qr/nextval\(text\) as postgres/,
	'the planted nextval ran as the superuser that owns the extension');
$node->safe_psql('postgres', 'ALTER ROLE appowner NOSUPERUSER');
# a run's audit row, as 0.1.0's library wrote it (this library refuses to run on 0.1.0's
# objects until the update), for retention.audit to show
$node->safe_psql('olddb', q{
	SET search_path = pg_catalog, pg_temp;
	INSERT INTO retention.purge_log (id, run_id, started_at, finished_at, policy_name, relation,
	                                 kind, rows_affected, status, invoked_by, hash)
	VALUES (0, 1, pg_catalog.now(), pg_catalog.now(), 'old', 'public.t_old', 'delete', 10, 'ok',
	        'appowner', '\x00');
});
$node->safe_psql('olddb', 'SELECT * FROM retention.audit');
is(is_superuser(), 't', 'with 0.1.0, a DBA reading retention.audit makes the owner a superuser');
like(planted_calls('olddb'), qr/unnest\(text\[\]\) as postgres/,
	'through the planted unnest, run as the DBA');
$node->safe_psql('postgres', 'ALTER ROLE appowner NOSUPERUSER');

# --- ALTER EXTENSION UPDATE from the hijacked 0.1.0 binds pg_catalog again
$node->safe_psql('olddb', 'DELETE FROM public.planted_calls');
$node->safe_psql('olddb', 'ALTER EXTENSION retention UPDATE');
is(as_dba('olddb', q{SELECT extversion FROM pg_extension WHERE extname = 'retention'}), '0.2.0',
	'ALTER EXTENSION retention UPDATE from 0.1.0 succeeds, with the plants still in public');
is(planted_calls('olddb'), '', 'nothing planted runs during the update');
my @left = grep { !/on view retention\./ } split /\n/, as_dba('olddb', $foreign_bindings);
is(join("\n", @left), '',
	'after the update, no default, constraint, index, trigger or function is bound outside pg_catalog');

# The views are recreated at the end of the upgrade script; until that part exists, reading the
# old views would still run the plants, so the view checks after the update wait for it.
my $views_recreated = do
{
	my $script = $node->config_data('--sharedir') . '/extension/retention--0.1.0--0.2.0.sql';
	open my $fh, '<', $script or die "$script: $!";
	local $/;
	<$fh> =~ /CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+retention\.audit\b/i ? 1 : 0;
};

use_extension('olddb', 'upgraded', views => $views_recreated);
is(as_dba('olddb', q{SELECT count(*) FROM public.t_upgraded}), '10',
	'the upgraded installation purges the owner\'s table');
is(planted_calls('olddb'), '', 'nothing planted ran while the owner used the upgraded extension');
is(is_superuser(), 'f', 'and the owner is still not a superuser');
SKIP:
{
	skip 'the upgrade script does not recreate the views yet', 2 unless $views_recreated;
	is(as_dba('olddb', $foreign_bindings), '',
		'after the update, the recreated views are bound to pg_catalog too');
	is(planted_calls('olddb'), '', 'and reading them runs nothing planted');
}

$node->stop;
done_testing();
