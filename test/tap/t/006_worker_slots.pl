# Worker slots are short: max_worker_processes leaves fewer free slots than there are databases
# with the extension (the launcher and PostgreSQL's logical replication launcher take two).
# Every database with the extension is served in turn, again and again, and so is one created
# later; postgres and template1 (no extension) never keep a slot beyond one check and are not
# checked every naptime; a shortage is logged by database name, at most once per naptime.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $LIMIT = 60;    # seconds any database may wait to be purged (naptime is 1 s)

sub setup_db
{
	my ($node, $db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, q{
		CREATE EXTENSION retention;
		CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz NOT NULL);
		INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
		INSERT INTO events SELECT g, now() FROM generate_series(101, 110) g;
		SELECT retention.add_policy('events', 'events', 'created_at', '1 year',
		                            run_every => '1 second');
	});
}

# Polls until every database has only its 10 unexpired rows left, at most $LIMIT seconds. While
# polling, watches that no worker for a database without the extension lives longer than a check.
sub wait_purged
{
	my ($node, $dbs, $what, $lingering) = @_;
	my $start = time;
	my %left = map { $_ => 1 } @$dbs;
	while (%left && time - $start < $LIMIT)
	{
		for my $db (sort keys %left)
		{
			delete $left{$db}
			  if $node->safe_psql($db, 'SELECT count(*) FROM events') eq '10';
		}
		$$lingering += $node->safe_psql('postgres', q{
			SELECT count(*) FROM pg_stat_activity
			WHERE backend_type = 'retention worker' AND datname IN ('postgres', 'template1')
			  AND backend_start < now() - interval '3 seconds'});
		sleep 0.2 if %left;
	}
	my $took = sprintf('%.1f', time - $start);
	for my $db (@$dbs)
	{
		ok(!$left{$db}, "$what: database $db is purged (all within ${took} s)");
	}
	return;
}

for my $max_workers (4, 5)
{
	note "max_worker_processes = $max_workers";
	my $node = PostgreSQL::Test::Cluster->new("slots_$max_workers");
	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.naptime = 1
max_worker_processes = $max_workers
log_min_messages = debug1
});
	$node->start;
	my $t0 = time;
	my $lingering = 0;

	setup_db($node, $_) for qw(a b c);
	wait_purged($node, [qw(a b c)], "$max_workers workers, first round", \$lingering);

	# served again, not once: new expired rows in every database
	for my $db (qw(a b c))
	{
		$node->safe_psql($db,
			"INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(1001, 1100) g");
	}
	wait_purged($node, [qw(a b c)], "$max_workers workers, second round", \$lingering);

	# a database created later with the extension is served too
	setup_db($node, 'd');
	wait_purged($node, [qw(a b c d)], "$max_workers workers, a database added later", \$lingering);
	# and so it goes on: four more rounds
	for my $round (1 .. 4)
	{
		for my $db (qw(a b c d))
		{
			$node->safe_psql($db, qq{
				INSERT INTO events SELECT g, now() - interval '2 years'
				FROM generate_series($round * 1000 + 1001, $round * 1000 + 1100) g});
		}
		wait_purged($node, [qw(a b c d)], "$max_workers workers, four databases, round $round",
			\$lingering);
	}

	my $elapsed = time - $t0;
	is($lingering, 0,
		'no worker for a database without the extension ever held its slot beyond one check');

	my $log = slurp_file($node->logfile);
	my @shortage = grep { /(WARNING|LOG):.*retention launcher/ && /slot|could not start/ }
	  split /\n/, $log;
	note "shortage lines: " . scalar(@shortage) . " in " . sprintf('%.0f', $elapsed) . " s";
	note $shortage[0] if @shortage;
	ok(@shortage >= 1, 'the shortage is reported');
	ok(@shortage <= int($elapsed) + 1,
		'at most once per naptime (' . scalar(@shortage) . ' lines in ' . sprintf('%.0f', $elapsed) . ' s)');
	is(scalar(grep { !/"\w+"/ || /database \d+/ } @shortage), 0,
		'every shortage line names the waiting databases, no bare OIDs');

	# postgres and template1 are checked, but not every naptime
	for my $db (['postgres', 5], ['template1', 1])
	{
		my ($name, $oid) = @$db;
		my $starts = () =
		  $log =~ /starting background worker process "retention worker for database (?:"?$name"?|$oid)"/g;
		ok($starts >= 1 && $starts <= int($elapsed / 3) + 2,
			"$name, without the extension, is checked now and then ($starts checks in "
			  . sprintf('%.0f', $elapsed) . ' s)');
	}

	# an installation added later in a database checked before (postgres) is served too
	$node->safe_psql('postgres', q{
		CREATE EXTENSION retention;
		CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz NOT NULL);
		INSERT INTO events SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
		INSERT INTO events SELECT g, now() FROM generate_series(101, 110) g;
		SELECT retention.add_policy('events', 'events', 'created_at', '1 year',
		                            run_every => '1 second');
	});
	my $ignored = 0;
	wait_purged($node, [qw(postgres a b c d)], "$max_workers workers, CREATE EXTENSION in postgres",
		\$ignored);
	$node->stop;
}

done_testing();
