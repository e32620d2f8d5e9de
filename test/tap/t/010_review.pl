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

$node->stop;
done_testing();
