# The background worker: purges within a few naptimes with nobody calling anything, serves two
# databases, stops and resumes with retention.enabled, picks up an extension installed later,
# and lets DROP DATABASE and DROP EXTENSION proceed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('primary');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.naptime = 1
});
$node->start;

sub setup_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, q{
		CREATE EXTENSION retention;
		CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz NOT NULL);
		INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(1, 1000) g;
		INSERT INTO events SELECT g, now() FROM generate_series(1001, 1100) g;
		SELECT retention.add_policy('events', 'events', 'created_at', '1 year',
		                            batch_size => 250, run_every => '1 second');
	});
}

setup_db('one');
setup_db('two');

ok($node->poll_query_until('one', 'SELECT count(*) = 100 FROM events'),
	'the worker purges database one within a few naptimes');
ok($node->poll_query_until('two', 'SELECT count(*) = 100 FROM events'),
	'and database two, served by a worker of its own');
is($node->safe_psql('one',
	"SELECT sum(rows_affected), min(invoked_by) FROM retention.purge_log WHERE policy_name = 'events'"),
	'1000|worker', 'the audit names the worker and counts every row');
is($node->safe_psql('postgres',
	"SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_stat_activity WHERE backend_type = 'retention worker'"),
	'one,two', 'pg_stat_activity shows one retention worker per database with the extension');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'retention launcher'"),
	'1', 'and one launcher');

# retention.enabled = off stops purging; on resumes it
$node->append_conf('postgresql.conf', 'retention.enabled = off');
$node->reload;
sleep 1;
$node->safe_psql('one', "INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(2001, 2100) g");
sleep 4;
is($node->safe_psql('one', 'SELECT count(*) FROM events'), '200',
	'with retention.enabled = off nothing is purged');
$node->append_conf('postgresql.conf', 'retention.enabled = on');
$node->reload;
ok($node->poll_query_until('one', 'SELECT count(*) = 100 FROM events'),
	'back on, the worker purges again');

# an extension installed later is picked up
$node->safe_psql('postgres', 'CREATE DATABASE three');
$node->safe_psql('three', q{
	CREATE EXTENSION retention;
	CREATE TABLE events (id int, created_at timestamptz);
	INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(1, 10) g;
	SELECT retention.add_policy('events', 'events', 'created_at', '1 year');
});
ok($node->poll_query_until('three', 'SELECT count(*) = 0 FROM events'),
	'a database that installs the extension later is served');

# DROP EXTENSION and DROP DATABASE are not blocked by the worker
$node->safe_psql('two', 'DROP EXTENSION retention');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = 'two'"),
	'DROP EXTENSION ends that database\'s worker');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE one');
is($ret, 0, 'DROP DATABASE succeeds while the database has a worker');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'one'"), '0',
	'the database is gone');

$node->stop;
done_testing();
