# The worker under faults: a failing policy fails alone and backs off; a version mismatch
# stops purging with a WARNING; SIGTERM and kill -9 during a purge leave every committed batch
# with its audit row and no unexpired row lost; a manual run and the worker exclude each other.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('faults');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.naptime = 1
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION retention');

# --- a policy whose table is dropped fails alone, visibly, with a growing backoff
$node->safe_psql('postgres', q{
	CREATE TABLE healthy (id int, created_at timestamptz);
	CREATE TABLE doomed (id int, created_at timestamptz);
	SELECT retention.add_policy('doomed', 'doomed', 'created_at', '1 year', priority => 1,
	                            run_every => '1 second');
	SELECT retention.add_policy('healthy', 'healthy', 'created_at', '1 year', priority => 2,
	                            run_every => '1 second');
	DROP TABLE doomed;
	INSERT INTO healthy SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM healthy'),
	'a failing policy does not stop the others');
ok($node->poll_query_until('postgres',
	"SELECT last_status = 'failed' AND consecutive_failures >= 2 FROM retention.policies WHERE name = 'doomed'"),
	'the failing policy is retried and its failures counted');
is($node->safe_psql('postgres', q{
	SELECT next_run_at - last_run_at > run_every FROM retention.policies WHERE name = 'doomed'}),
	't', 'and it backs off: next_run_at lies further than run_every after its last run');
$node->safe_psql('postgres', "SELECT retention.drop_policy('doomed')");

# --- installed SQL version differs from the library: no purge, a WARNING
$node->safe_psql('postgres', q{
	UPDATE pg_extension SET extversion = '0.0.1' WHERE extname = 'retention';
	INSERT INTO healthy SELECT g, now() - interval '2 years' FROM generate_series(1, 10) g;
});
my $log_offset = -s $node->logfile;
sleep 4;
is($node->safe_psql('postgres', 'SELECT count(*) FROM healthy'), '10',
	'while versions differ the worker does not purge');
ok($node->log_contains('retention worker is not purging database', $log_offset),
	'and says why in a WARNING');
$node->safe_psql('postgres', q{UPDATE pg_extension SET extversion =
	(SELECT default_version FROM pg_available_extensions WHERE name = 'retention')
	WHERE extname = 'retention'});
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM healthy'),
	'versions equal again, purging resumes');

# --- a 1,000,000-row purge, interrupted by SIGTERM and ten times by kill -9
$node->safe_psql('postgres', q{
	SELECT retention.drop_policy('healthy');
	CREATE TABLE big (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
	CREATE INDEX ON big (created_at);
	INSERT INTO big SELECT g, now() - interval '2 years' + g * interval '1 second'
	FROM generate_series(1, 1000000) g;
	INSERT INTO big SELECT g, now() FROM generate_series(1000001, 1050000) g;
});
$node->append_conf('postgresql.conf', 'retention.max_rows_per_second = 60000');
$node->reload;
$node->safe_psql('postgres',
	"SELECT retention.add_policy('big', 'big', 'created_at', '1 year', batch_size => 1000, run_every => '1 second')");

sub worker_pid
{
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = 'postgres'");
}

my $inserted = 1050000;

sub check_consistent
{
	my ($what) = @_;
	my $result = $node->safe_psql('postgres', qq{
		SELECT $inserted - (SELECT count(*) FROM big),
		       (SELECT coalesce(sum(rows_affected), 0) FROM retention.purge_log WHERE policy_name = 'big'),
		       (SELECT count(*) FROM big WHERE id BETWEEN 1000001 AND 1050000),
		       (SELECT ok FROM retention.verify_audit())});
	my ($gone, $logged, $unexpired, $verified) = split /\|/, $result;
	ok($gone == $logged && $unexpired == 50000 && $verified eq 't',
		"$what: rows gone ($gone) = sum(rows_affected) ($logged), unexpired rows 50000 ($unexpired), chain ok");
	return $gone;
}

my $previous = 0;
ok($node->poll_query_until('postgres',
	"SELECT coalesce(sum(rows_affected), 0) > 20000 FROM retention.purge_log WHERE policy_name = 'big'"),
	'the worker is purging the big table');
kill 'TERM', worker_pid();
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 OR min(backend_start) > now() - interval '1 second' FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = 'postgres'"),
	'SIGTERM stops the worker');
$previous = check_consistent('after SIGTERM');

for my $round (1 .. 10)
{
	ok($node->poll_query_until('postgres',
		"SELECT coalesce(sum(rows_affected), 0) > $previous + 10000 FROM retention.purge_log WHERE policy_name = 'big'"),
		"round $round: the worker (restarted) purges again");
	my $pid = worker_pid();
	if ($pid)
	{
		my $log_offset = -s $node->logfile;
		kill 'KILL', $pid;
		# the postmaster restarts everything after a backend is killed; the restart is over
		# once the server says so (a query sent sooner could meet the server going down)
		$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
		$node->wait_for_log(qr/database system is ready to accept connections/, $log_offset);
	}
	$previous = check_consistent("round $round, after kill -9 of the worker");
}

ok($node->poll_query_until('postgres', 'SELECT count(*) = 50000 FROM big', 't'),
	'after the crashes the worker finishes the purge');
check_consistent('at the end');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM retention.policies WHERE last_status = 'running'"), '0',
	'no run is left marked running');

# --- a manual run and the worker exclude each other
$node->safe_psql('postgres', q{
	INSERT INTO big SELECT g, now() - interval '2 years' FROM generate_series(2000001, 2060000) g;
});
$inserted += 60000;
my ($ret, $stdout, $stderr) = $node->psql('postgres', "CALL retention.run('big')");
ok($stderr eq '' || $stderr =~ /already running; skipped/,
	'a manual run either runs or skips the policy the worker holds, never both at once');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 50000 FROM big'), 'and the work gets done');
check_consistent('after a manual run beside the worker');

$node->stop;
done_testing();
