# Runs that a signal or a crash ends show as interrupted in retention.audit (and in
# retention.policies), while the runs that finished show ok: SIGTERM to a backend in
# CALL retention.run(), kill -9 of such a backend (the server restarts every session), and
# SIGTERM to the worker in the middle of a run.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('interrupted');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.naptime = 1
restart_after_crash = on
});
$node->start;

# 'slow' is disabled: only the CALLs below run it, until the worker part enables it
$node->safe_psql('postgres', q{
	CREATE EXTENSION retention;
	CREATE TABLE slow_t (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
	CREATE INDEX ON slow_t (created_at);
	INSERT INTO slow_t SELECT g, now() - interval '2 years' + g * interval '1 second'
	FROM generate_series(1, 300000) g;
	INSERT INTO slow_t SELECT g, now() FROM generate_series(300001, 310000) g;
	SELECT retention.add_policy('slow', 'slow_t', 'created_at', '1 year', batch_size => 1000,
	                            enabled => false);
	CREATE TABLE quick_t (id int, created_at timestamptz);
	INSERT INTO quick_t SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
	SELECT retention.add_policy('quick', 'quick_t', 'created_at', '1 year', enabled => false);
});

# a run that finishes
$node->safe_psql('postgres', "CALL retention.run('quick')");
my $quick_run = $node->safe_psql('postgres',
	"SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'quick'");

sub purged
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(sum(rows_affected), 0) FROM retention.purge_log WHERE policy_name = 'slow'");
}

# Starts CALL retention.run('slow') in a session of its own, throttled so that it is still
# going when it is interrupted; returns the harness and the backend's pid once some batches
# have committed.
sub start_slow_run
{
	my $before = purged();
	my ($out, $err) = ('', '');
	my $harness = IPC::Run::start(
		[ 'psql', '-X', '-d', $node->connstr('postgres'),
		  '-c', 'SET retention.max_rows_per_second = 20000',
		  '-c', "CALL retention.run('slow')" ],
		'>', \$out, '2>', \$err);
	ok($node->poll_query_until('postgres', qq{
		SELECT coalesce(sum(rows_affected), 0) > $before + 3000 FROM retention.purge_log
		WHERE policy_name = 'slow'}),
		'the CALL is purging');
	my $pid = $node->safe_psql('postgres', q{
		SELECT pid FROM pg_stat_activity
		WHERE query LIKE 'CALL retention.run%' AND pid <> pg_backend_pid()});
	my $run = $node->safe_psql('postgres',
		"SELECT last_run_id FROM retention.policies WHERE name = 'slow'");
	return ($harness, $pid, $run);
}

sub run_status
{
	my ($run) = @_;
	return $node->safe_psql('postgres',
		"SELECT status || ' ' || (rows_affected > 0) FROM retention.audit WHERE run_id = $run");
}

# --- SIGTERM to the backend running CALL retention.run()
my ($harness, $pid, $term_run) = start_slow_run();
kill 'TERM', $pid;
$harness->finish;
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"),
	'SIGTERM ends the backend');
is(run_status($term_run), 'interrupted true',
	'retention.audit shows the run that SIGTERM ended as interrupted (its batches committed)');
is($node->safe_psql('postgres', "SELECT last_status FROM retention.policies WHERE name = 'slow'"),
	'interrupted', 'and retention.policies shows it interrupted, not running');

# --- kill -9 of the backend: the server restarts every session
my $kill_run;
($harness, $pid, $kill_run) = start_slow_run();
my $log_offset = -s $node->logfile;
kill 'KILL', $pid;
$harness->finish;
# the restart is over once the server says so again (a query sent sooner could meet it)
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$node->wait_for_log(qr/database system is ready to accept connections/, $log_offset);
$node->poll_query_until('postgres', 'SELECT true');
is(run_status($kill_run), 'interrupted true',
	'retention.audit shows the run that kill -9 ended as interrupted');
is(run_status($term_run), 'interrupted true', 'and still the one SIGTERM ended');
is($node->safe_psql('postgres', "SELECT last_status FROM retention.policies WHERE name = 'slow'"),
	'interrupted', 'retention.policies shows it interrupted');
# the worker, restarted with the server, records it so in the run state as well
ok($node->poll_query_until('postgres',
	"SELECT status = 'interrupted' FROM _retention.run WHERE run_id = $kill_run"),
	'the restarted worker marks the run interrupted in its run state');

# --- SIGTERM to the worker in the middle of a run
$node->append_conf('postgresql.conf', 'retention.max_rows_per_second = 20000');
$node->reload;
my $before = purged();
$node->safe_psql('postgres', "SELECT retention.alter_policy('slow', enabled => true, run_every => '1 second')");
ok($node->poll_query_until('postgres', qq{
	SELECT coalesce(sum(rows_affected), 0) > $before + 3000 FROM retention.purge_log
	WHERE policy_name = 'slow' AND invoked_by = 'worker'}),
	'the worker is purging');
my $worker_run = $node->safe_psql('postgres',
	"SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'slow' AND invoked_by = 'worker'");
my $worker_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = 'postgres'");
kill 'TERM', $worker_pid;
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $worker_pid"),
	'SIGTERM ends the worker');
is(run_status($worker_run), 'interrupted true',
	'retention.audit shows the worker\'s run that SIGTERM ended as interrupted');

# the worker, started again, finishes the purge; its last run is ok
ok($node->poll_query_until('postgres', 'SELECT count(*) = 10000 FROM slow_t'),
	'the worker started again finishes the purge');
$node->safe_psql('postgres', "SELECT retention.alter_policy('slow', enabled => false)");
$node->safe_psql('postgres', "CALL retention.run('slow')");
my $last_run = $node->safe_psql('postgres',
	"SELECT max(run_id) FROM retention.purge_log WHERE policy_name = 'slow'");
is($node->safe_psql('postgres', "SELECT status FROM retention.audit WHERE run_id = $last_run"),
	'ok', 'a run that finishes shows ok');
is($node->safe_psql('postgres', "SELECT status FROM retention.audit WHERE run_id = $quick_run"),
	'ok', 'and so does the run that finished before the interruptions');
is($node->safe_psql('postgres', qq{
	SELECT string_agg(status, ',' ORDER BY run_id) FROM retention.audit
	WHERE run_id IN ($term_run, $kill_run, $worker_run)}),
	'interrupted,interrupted,interrupted', 'the interrupted runs stay interrupted');
is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM slow_t) = 310000 - sum(rows_affected) FROM retention.purge_log
	WHERE policy_name = 'slow'}),
	't', 'every row gone is in the audit log: an interrupted run loses only its batch in progress');
is($node->safe_psql('postgres', 'SELECT ok FROM retention.verify_audit()'), 't', 'the audit chain verifies');

# an analyst the DBA granted the views to reads them (their run test included)
$node->safe_psql('postgres', q{
	CREATE ROLE analyst LOGIN;
	GRANT USAGE ON SCHEMA retention TO analyst;
	GRANT SELECT ON retention.audit, retention.policies TO analyst;
	-- as a run whose session died leaves it
	UPDATE _retention.policy_state SET last_status = 'running', running_pid = pg_backend_pid()});
is($node->safe_psql('postgres', qq{
	SET ROLE analyst;
	SELECT (SELECT string_agg(status, ',' ORDER BY run_id) FROM retention.audit
	        WHERE run_id IN ($term_run, $last_run))
	       || ' ' || (SELECT last_status FROM retention.policies WHERE name = 'slow')}),
	'interrupted,ok interrupted', 'an analyst granted the views reads the same statuses');

$node->stop;
done_testing();
