# The worker across an upgrade: with this library loaded and a database whose extension is
# still at 0.1.0 (its frozen script, as after installing the new package and restarting), the
# worker warns once and purges nothing there, while a database already at the current version is
# served; after ALTER EXTENSION retention UPDATE it purges at its next naptimes, with no restart
# of the server. (A worker that ignored the version would purge, or fail, under 0.1.0's SQL
# objects: either way the first checks fail.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.naptime = 1
});
$node->start;
my $current = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'retention'");

sub setup_db
{
	my ($db, $version) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, qq{
		CREATE EXTENSION retention VERSION '$version';
		CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz NOT NULL);
		INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(1, 1000) g;
		INSERT INTO events SELECT g, now() FROM generate_series(1001, 1100) g;
		SELECT retention.add_policy('events', 'events', 'created_at', '1 year',
		                            batch_size => 250, run_every => '1 second');
		CREATE TABLE cdr (id int PRIMARY KEY, called_at timestamptz, phone text);
		INSERT INTO cdr SELECT g, now() - interval '2 years', '+4930' || g FROM generate_series(1, 50) g;
		SELECT retention.add_policy('cdr', 'cdr', 'called_at', '1 year', action => 'anonymize',
		                            anonymize => '{"phone": "NULL"}', run_every => '1 second');
	});
}

# the occurrences of a pattern in the server log after an offset
sub log_count
{
	my ($re, $offset) = @_;
	my $log = substr(slurp_file($node->logfile), $offset);
	my @found = ($log =~ /$re/g);
	return scalar @found;
}

# waits up to $seconds for a pattern in the server log after an offset (wait_for_log would wait
# for minutes when it never comes)
sub wait_log
{
	my ($re, $offset, $seconds) = @_;
	my $until = time + $seconds;
	while (time < $until)
	{
		return 1 if log_count($re, $offset) > 0;
		usleep(100_000);
	}
	return 0;
}

my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $offset = -s $node->logfile;
setup_db('old', '0.1.0');
setup_db('new', $current);
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'retention'"),
	'0.1.0', 'database old has the extension at 0.1.0, from its frozen script');

my $warning = qr/WARNING:  retention worker is not purging database "old"/;
ok(wait_log($warning, $offset, 30), 'the worker of database old warns that it is not purging');
like(substr(slurp_file($node->logfile), $offset),
	qr/$warning\n.*DETAIL:  The library is version \Q$current\E, the installed extension version 0\.1\.0\.\n.*HINT:  Run ALTER EXTENSION retention UPDATE/,
	'naming both versions and the command that resolves it');
ok($node->poll_query_until('new', 'SELECT count(*) = 100 FROM events'),
	'database new, at the current version, is purged meanwhile');

# several naptimes with expired rows due every second
sleep 6;
is($node->safe_psql('old', 'SELECT count(*) FROM events'), '1100',
	'after six naptimes nothing is deleted in database old');
is($node->safe_psql('old', 'SELECT count(*) FROM cdr WHERE phone IS NULL'), '0',
	'nor anonymised');
is($node->safe_psql('old', 'SELECT count(*) FROM retention.purge_log'), '0', 'nor audited');
is(log_count($warning, $offset), 1, 'the warning is given once, not every naptime');
is(log_count(qr/WARNING:  policy "[^"]*" on [^:]*: run/, $offset), 0,
	'no run was attempted there (none failed either)');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = 'old'"),
	'1', 'the worker of database old waits (it does not exit or fail)');

# the update, with nothing else done
my $before_update = -s $node->logfile;
my $t0 = time;
$node->safe_psql('old', 'ALTER EXTENSION retention UPDATE');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'retention'"),
	$current, "ALTER EXTENSION retention UPDATE brings database old to $current");
ok($node->poll_query_until('old', 'SELECT count(*) = 100 FROM events'),
	'after the update the worker purges database old');
my $took = time - $t0;
ok($took < 30, sprintf('within a few naptimes (%.1f s)', $took));
ok($node->poll_query_until('old', 'SELECT count(*) = 50 FROM cdr WHERE phone IS NULL'),
	'and anonymises');
is($node->safe_psql('old', q{
	SELECT sum(rows_affected) FILTER (WHERE kind = 'delete') || '|'
	       || sum(rows_affected) FILTER (WHERE kind = 'anonymize') || '|' || min(invoked_by)
	FROM retention.purge_log}),
	'1000|50|worker', 'the worker audits every row it removed or anonymised');
is($node->safe_psql('old', 'SELECT ok FROM retention.verify_audit()'), 't',
	'and the audit chain verifies');

# no restart: the postmaster is the same, and no server process ended abnormally
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time,
	'the server was not restarted');
my $log = substr(slurp_file($node->logfile), $offset);
unlike($log, qr/terminating any other active server processes|all server processes terminated|database system is shut down/,
	'no server process crashed and the server did not reinitialise');
unlike($log, qr/(ERROR|FATAL):.*retention/, 'no retention process failed');
is(log_count($warning, $before_update), 0, 'no further warning after the update');

$node->stop;
done_testing();
