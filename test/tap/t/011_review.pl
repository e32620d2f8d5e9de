# Review of 0.2.0's trust guarantees, cases that need more than one session.
#
# The run lock: a policy never runs twice at once, and only a run can hold its lock. Any role
# that may connect can take any advisory lock with pg_advisory_lock(); the run lock must not
# be one of those, or a role with no rights on the table (nor on the extension) makes every
# run of the policy, manual or the worker's, skip as "already running", forever.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('review');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.enabled = off
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	CREATE EXTENSION retention;
	CREATE TABLE v (id int, at timestamptz NOT NULL);
	INSERT INTO v SELECT g, now() - interval '10 days' FROM generate_series(1, 50) g;
	SELECT retention.add_policy('pv', 'v', 'at', '1 day');
	-- a trigger slow enough to keep a run going while another session looks
	CREATE TABLE w (id int, at timestamptz NOT NULL);
	INSERT INTO w SELECT g, now() - interval '10 days' FROM generate_series(1, 20) g;
	CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql
	  AS $$ BEGIN PERFORM pg_sleep(0.25); RETURN OLD; END $$;
	CREATE TRIGGER w_slow BEFORE DELETE ON w FOR EACH ROW EXECUTE FUNCTION slow();
	SELECT retention.add_policy('pw', 'w', 'at', '1 day', batch_size => 5);
});
my $pv = $node->safe_psql('postgres', "SELECT id FROM _retention.policy WHERE name = 'pv'");

# mallory holds the advisory lock (0x52544e31, policy id) that the run lock was
my ($out, $err) = ('', '');
my $squatter = IPC::Run::start(
	[ 'psql', '-X', '-U', 'mallory', '-d', $node->connstr('postgres'),
	  '-c', "SELECT pg_advisory_lock(1381256753, $pv), pg_advisory_lock($pv), pg_sleep(120)" ],
	'>', \$out, '2>', \$err);
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE a.usename = 'mallory' AND l.locktype = 'advisory' AND l.granted}),
	'a role with no rights holds the advisory locks');

my ($ret, $stdout, $stderr) = $node->psql('postgres', "CALL retention.run('pv')");
is($ret, 0, 'the owner\'s CALL retention.run succeeds') or diag($stderr);
unlike($stderr, qr/already running/, 'the policy is not reported as already running');
is($node->safe_psql('postgres', 'SELECT count(*) FROM v'), '0', 'its expired rows are gone');
is($node->safe_psql('postgres', "SELECT last_status FROM retention.policies WHERE name = 'pv'"),
	'ok', 'the run is ok');

$node->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mallory'");
$squatter->finish;

# the run lock still excludes a second run, and shows a run in progress as running
my ($run_out, $run_err) = ('', '');
my $run = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', "CALL retention.run('pw')" ],
	'>', \$run_out, '2>', \$run_err);
ok($node->poll_query_until('postgres',
	"SELECT last_status = 'running' FROM retention.policies WHERE name = 'pw'"),
	'a run in progress shows as running');
($ret, $stdout, $stderr) = $node->psql('postgres', "CALL retention.run('pw')");
like($stderr, qr/policy "pw" is already running; skipped/, 'a second run skips with a NOTICE');
$run->finish;
is($node->safe_psql('postgres', 'SELECT count(*) FROM w'), '0', 'the first run purged the rows');
is($node->safe_psql('postgres', "SELECT last_status FROM retention.policies WHERE name = 'pw'"),
	'ok', 'and ended ok');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM retention.purge_log WHERE policy_name = 'pw' AND status <> 'ok'}),
	'0', 'the skipped run wrote no audit row');

# An interrupt while a failed run is being recorded (here: the run's end waits for a row lock
# until lock_timeout, then recording the failure waits again and is cancelled) must not leave
# the session holding the run lock: the session lives on (a pooled connection may live for
# days), and while it holds the lock every other run of the policy, the worker's too, skips.
$node->safe_psql('postgres', q{
	CREATE TABLE x (id int, at timestamptz NOT NULL);
	INSERT INTO x SELECT g, now() - interval '10 days' FROM generate_series(1, 10) g;
	CREATE TRIGGER x_slow BEFORE DELETE ON x FOR EACH ROW EXECUTE FUNCTION slow();
	SELECT retention.add_policy('px', 'x', 'at', '1 day', batch_size => 5);
});
my $px = $node->safe_psql('postgres', "SELECT id FROM _retention.policy WHERE name = 'px'");
my $runner = $node->background_psql('postgres', on_error_stop => 0);
my $runner_pid = $runner->query_safe('SELECT pg_backend_pid()');
$runner->query_until(qr/start/, q{
	\echo start
	SET lock_timeout = '3s';
	CALL retention.run('px');
});
ok($node->poll_query_until('postgres',
	"SELECT last_status = 'running' FROM retention.policies WHERE name = 'px'"), 'px is running');
my $blocker = $node->background_psql('postgres');
$blocker->query_safe("BEGIN; SELECT FROM _retention.policy_state WHERE policy_id = $px FOR UPDATE");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_locks WHERE pid = $runner_pid AND NOT granted"),
	'the run waits for the policy state');
my $first_wait = $node->safe_psql('postgres',
	"SELECT waitstart FROM pg_locks WHERE pid = $runner_pid AND NOT granted");
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_locks WHERE pid = $runner_pid AND NOT granted
	AND waitstart > '$first_wait'}),
	'after lock_timeout, recording the failure waits again');
$node->safe_psql('postgres', "SELECT pg_cancel_backend($runner_pid)");
ok($node->poll_query_until('postgres',
	"SELECT state = 'idle' FROM pg_stat_activity WHERE pid = $runner_pid"),
	'the cancelled session is idle');
$blocker->query_safe('ROLLBACK');
$blocker->quit;
is($runner->query('SELECT 1'), '1', 'the cancelled session lives on');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_locks WHERE pid = $runner_pid AND locktype = 'advisory'"),
	'0', 'it holds no run lock');
$node->safe_psql('postgres',
	"INSERT INTO x SELECT g, now() - interval '10 days' FROM generate_series(11, 15) g");
($ret, $stdout, $stderr) = $node->psql('postgres', "CALL retention.run('px')");
unlike($stderr, qr/already running/, 'the next run of px is not skipped');
is($node->safe_psql('postgres', 'SELECT count(*) FROM x'), '0', 'and purges its expired rows');
is($node->safe_psql('postgres', "SELECT last_status FROM retention.policies WHERE name = 'px'"),
	'ok', 'px ends ok');
$runner->quit;

$node->stop;
done_testing();
