# A streaming standby stays idle while the primary's worker purges, and receives the deletions;
# pg_cron as the scheduler runs CALL retention.run() with the worker switched off.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention,pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
retention.naptime = 1
});
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION retention;
	CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz NOT NULL);
	INSERT INTO events SELECT g, now() FROM generate_series(1, 100) g;
});
$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

$primary->safe_psql('postgres', q{
	INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(101, 600) g;
	SELECT retention.add_policy('events', 'events', 'created_at', '1 year', batch_size => 100);
});
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 100 FROM events'),
	'the primary\'s worker purges');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT count(*) FROM events'), '100',
	'the standby receives the deletions');
is($standby->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'retention%'"), '0',
	'no retention process runs on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM retention.purge_log'),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM retention.purge_log'),
	'the audit log arrives with the deletions');

# pg_cron instead of the worker
$primary->append_conf('postgresql.conf', 'retention.enabled = off');
$primary->reload;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION pg_cron;
	INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(1001, 1050) g;
	SELECT cron.schedule('retention', '* * * * *', 'CALL retention.run()');
});
ok($primary->poll_query_until('postgres', 'SELECT count(*) = 100 FROM events'),
	'a pg_cron job running CALL retention.run() purges while retention.enabled is off');
is($primary->safe_psql('postgres',
	"SELECT count(*) > 0 FROM retention.purge_log WHERE invoked_by <> 'worker' AND rows_affected = 50"),
	't', 'the purge is audited as the job\'s role, not the worker');

$standby->stop;
$primary->stop;
done_testing();
