# One policy that cannot run never stops the others, the worker, or CALL retention.run(): a
# policy whose cutoff leaves the timestamp range (poisoned in the catalog, as add_policy now
# refuses it) and one whose run state cannot be written at its end both fail alone, visibly,
# as failed (never left running), with their alert, WARNING and backoff; a healthy policy after
# them is purged; the worker keeps its pid, with no restart in the log; preview() of all
# policies still returns every row.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('poisoned');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.naptime = 1
retention.enabled = off
});
$node->start;

# Everything is in place before the first worker starts, so that it never exits for want of
# the extension and its pid is the one to watch.
$node->safe_psql('postgres', q{
	CREATE EXTENSION retention;
	CREATE TABLE poisoned_t (id int, created_at timestamptz);
	CREATE TABLE bookkeeping_t (id int, created_at timestamptz);
	CREATE TABLE healthy_t (id int, created_at timestamptz);
	INSERT INTO poisoned_t SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
	INSERT INTO bookkeeping_t SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
	INSERT INTO healthy_t SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
	INSERT INTO healthy_t SELECT g, now() FROM generate_series(101, 110) g;
	SELECT retention.add_policy('poisoned', 'poisoned_t', 'created_at', '30 days', priority => 1,
	                            run_every => '1 second');
	SELECT retention.add_policy('bookkeeping', 'bookkeeping_t', 'created_at', '1 year',
	                            priority => 2, run_every => '1 second');
	SELECT retention.add_policy('healthy', 'healthy_t', 'created_at', '1 year', priority => 3,
	                            run_every => '1 second');
	-- the poison: a retain whose cutoff leaves the timestamp range
	UPDATE _retention.policy SET retain = '1000000 years' WHERE name = 'poisoned';
	-- and a run whose end cannot be recorded as ok: an error in the run's own bookkeeping
	CREATE FUNCTION public.refuse_ok_state() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF NEW.last_status = 'ok' AND NEW.policy_id =
		   (SELECT p.id FROM _retention.policy AS p WHERE p.name = 'bookkeeping') THEN
			RAISE EXCEPTION 'the run state of policy bookkeeping refuses ok';
		END IF;
		RETURN NEW;
	END
	$$;
	CREATE TRIGGER refuse_ok_state BEFORE UPDATE ON _retention.policy_state
		FOR EACH ROW EXECUTE FUNCTION public.refuse_ok_state();
});

my $log_offset = -s $node->logfile;
$node->append_conf('postgresql.conf', 'retention.enabled = on');
$node->reload;

my $worker_query =
  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = 'postgres'";
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker_query) AS w"),
	'the worker starts');
my $worker_pid = $node->safe_psql('postgres', $worker_query);

# --- the worker
ok($node->poll_query_until('postgres', 'SELECT count(*) = 10 FROM healthy_t'),
	'the worker purges the healthy policy that comes after the poisoned ones');
ok($node->poll_query_until('postgres', q{
	SELECT bool_and(last_status = 'failed' AND consecutive_failures >= 3)
	FROM retention.policies WHERE name IN ('poisoned', 'bookkeeping')}),
	'the poisoned policies fail, again and again, each time recorded as failed');
is($node->safe_psql('postgres', "SELECT count(*) FROM poisoned_t"), '100',
	'the policy whose cutoff is out of range removed nothing');
is($node->safe_psql('postgres', "SELECT count(*) FROM bookkeeping_t"), '100',
	'nor did the one whose end failed: its last, uncommitted work is undone with its audit rows');
like($node->safe_psql('postgres', "SELECT last_error FROM retention.policies WHERE name = 'poisoned'"),
	qr/out of range/, 'retention.policies shows its error');
like($node->safe_psql('postgres', "SELECT last_error FROM retention.policies WHERE name = 'bookkeeping'"),
	qr/refuses ok/, 'and the error of the failed bookkeeping');
is($node->safe_psql('postgres', q{
	SELECT next_run_at - last_run_at > run_every FROM retention.policies WHERE name = 'poisoned'}),
	't', 'the failing policy backs off');
ok($worker_pid ne '' && $node->safe_psql('postgres', $worker_query) eq $worker_pid,
	'the worker\'s pid has not changed over these naptimes');
my $healthy_runs = $node->safe_psql('postgres',
	"SELECT count(*) FROM retention.audit WHERE policy_name = 'healthy'");
ok($node->poll_query_until('postgres',
	"SELECT count(*) > $healthy_runs + 2 FROM retention.audit WHERE policy_name = 'healthy'"),
	'the healthy policy keeps running every naptime');
is($node->safe_psql('postgres',
	"SELECT array_agg(DISTINCT status) FROM retention.audit WHERE policy_name = 'healthy'"),
	'{ok}', 'and every run of it is ok');
ok($worker_pid ne '' && $node->safe_psql('postgres', $worker_query) eq $worker_pid,
	'the worker\'s pid is still the same');
ok(!$node->log_contains(qr/background worker "retention worker[^"]*" \(PID \d+\) exited/, $log_offset),
	'the log shows no worker exit, hence no restart loop');
ok($node->log_contains(qr/WARNING:  policy "poisoned" on public.poisoned_t: run failed/, $log_offset),
	'the log has the WARNING of the failed run');
ok($node->log_contains(qr/WARNING:  policy "bookkeeping" on public.bookkeeping_t: run failed/, $log_offset),
	'and of the run whose bookkeeping failed');

# --- CALL retention.run() of all policies, and preview(), beside the poisoned ones
$node->append_conf('postgresql.conf', 'retention.enabled = off');
$node->reload;
ok($node->poll_query_until('postgres', q{
	SELECT (SELECT count(*) FROM pg_stat_activity
	        WHERE backend_type = 'retention worker' AND state = 'active') = 0
	   AND (SELECT count(*) FROM pg_locks
	        WHERE locktype = 'advisory' AND classid = x'52544e31'::int::oid) = 0}),
	'the worker is idle');
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT status, ',') || ' ' || bool_and(first_error IS NOT NULL)
	FROM retention.audit WHERE policy_name IN ('poisoned', 'bookkeeping')}),
	'failed true', 'retention.audit shows every finished run of them as failed, with its error');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM retention.purge_log
	WHERE policy_name = 'poisoned' AND status = 'failed' AND error ~ 'out of range'
	  AND invoked_by = 'worker'}) >= 3 ? 'yes' : 'no',
	'yes', 'each failed run of the worker left its failed audit row');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM retention.purge_log
	WHERE policy_name = 'bookkeeping' AND status = 'failed' AND error ~ 'refuses ok'}) >= 3 ? 'yes' : 'no',
	'yes', 'so did each failed run of the one whose end failed');
$node->safe_psql('postgres', q{
	INSERT INTO healthy_t SELECT g, now() - interval '2 years' FROM generate_series(201, 250) g;
	INSERT INTO bookkeeping_t SELECT g, now() - interval '2 years' FROM generate_series(201, 250) g});
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'CALL retention.run()');
is($ret, 0, 'CALL retention.run() succeeds although two policies fail');
like($stderr, qr/WARNING:  policy "poisoned" on public.poisoned_t: run failed/,
	'it reports the poisoned policy in a WARNING');
is($node->safe_psql('postgres', 'SELECT count(*) FROM healthy_t'), '10',
	'and purges the healthy policy after it');
is($node->safe_psql('postgres', q{
	SELECT string_agg(status || ':' || (invoked_by = current_user), ',' ORDER BY policy_name)
	FROM retention.audit WHERE run_id IN (SELECT last_run_id FROM retention.policies)}),
	'failed:true,ok:true,failed:true',
	'its runs: bookkeeping failed, healthy ok, poisoned failed (none left running)');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM retention.policies WHERE last_status = 'running'"),
	'0', 'no policy is left running');

# the same in an atomic context: a CALL inside a transaction block
($ret, $stdout, $stderr) = $node->psql('postgres', q{
	BEGIN;
	INSERT INTO healthy_t SELECT g, now() - interval '2 years' FROM generate_series(301, 320) g;
	CALL retention.run();
	COMMIT;});
is($ret, 0, 'CALL retention.run() inside a transaction block succeeds too');
is($node->safe_psql('postgres', 'SELECT count(*) FROM healthy_t'), '10',
	'and purges the healthy policy');
is($node->safe_psql('postgres', q{
	SELECT string_agg(name || ':' || last_status, ',' ORDER BY name) FROM retention.policies}),
	'bookkeeping:failed,healthy:ok,poisoned:failed', 'the failures are recorded in that transaction');

($ret, $stdout, $stderr) = $node->psql('postgres',
	'SELECT policy, cutoff IS NULL, rows_expired FROM retention.preview() ORDER BY policy');
is($ret, 0, 'preview() of all policies succeeds');
is($stdout, "bookkeeping|f|150\nhealthy|f|0\npoisoned|t|",
	'it returns a row for every policy: NULL cutoff and counts for the poisoned one');
like($stderr, qr/WARNING:  cannot preview policy "poisoned": timestamp out of range/,
	'with a WARNING naming it');
($ret, $stdout, $stderr) = $node->psql('postgres', q{
	\set VERBOSITY verbose
	SELECT * FROM retention.preview('poisoned')});
like($stderr, qr/ERROR:  22008: timestamp out of range/,
	'preview() of the poisoned policy by name raises the error (22008)');

$node->stop;
done_testing();
