# The audit anchor in the server log: after CALL retention.run(), after a run inside a
# transaction block once it commits (and never for one rolled back), after a hold, an erasure
# and an export, and after a run of the worker, the log holds one line "retention audit head
# <id> <hex hash>" equal to retention.audit_head() at that moment.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('anchor');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.naptime = 1
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION retention;
	CREATE TABLE manual (id int PRIMARY KEY, created_at timestamptz NOT NULL);
	INSERT INTO manual SELECT g, now() - interval '2 years' FROM generate_series(1, 10) g;
	SELECT retention.add_policy('manual', 'manual', 'created_at', '1 year', batch_size => 4,
	                            enabled => false);
});

# the head as the log line writes it: id and lower-case hex of the hash
sub head
{
	return $node->safe_psql('postgres',
		q{SELECT id || ' ' || encode(hash, 'hex') FROM retention.audit_head()});
}

# every anchor line in the log, in order
sub anchor_lines
{
	my @lines = (slurp_file($node->logfile) =~ /LOG:  retention audit head (\d+ [0-9a-f]{64})$/mg);
	return @lines;
}

# CALL outside a transaction block: the run commits batch by batch, then logs its head
$node->safe_psql('postgres', q{CALL retention.run('manual')});
my $head = head();
like($head, qr/^\d+ [0-9a-f]{64}$/, 'audit_head() returns a row');
is($node->safe_psql('postgres', 'SELECT count(*) FROM manual'), '0', 'the run purged the table');
my @lines = anchor_lines();
is(scalar(@lines), 1, 'one anchor line for one run');
is($lines[-1], $head, 'the line names the head: ' . $head);
like(slurp_file($node->logfile),
	qr/LOG:  retention audit head \Q$head\E\n.*DETAIL:  The audit chain of database "postgres" ends at this row\./,
	'its detail names the database');

# inside a transaction block: logged once the transaction commits, not for a rollback
$node->safe_psql('postgres', q{BEGIN; CALL retention.run('manual'); ROLLBACK;});
is(scalar(anchor_lines()), 1, 'a run rolled back writes no anchor line');
$node->safe_psql('postgres',
	q{BEGIN; SAVEPOINT s; CALL retention.run('manual'); ROLLBACK TO s; COMMIT;});
is(scalar(anchor_lines()), 1, 'nor does a run whose savepoint was rolled back');
$node->safe_psql('postgres', q{BEGIN; CALL retention.run('manual'); COMMIT;});
$head = head();
@lines = anchor_lines();
is(scalar(@lines), 2, 'a run in a transaction block that commits writes one line');
is($lines[-1], $head, 'naming the head it committed');

# a hold placed is its own action: its head is logged too
$node->safe_psql('postgres', q{SELECT retention.place_hold('litigation 7', 'manual')});
$head = head();
@lines = anchor_lines();
is(scalar(@lines), 3, 'placing a hold writes one line');
is($lines[-1], $head, 'naming the hold\'s audit row');

# an erasure (one audit row per relation) and an export: one line each, at commit
$node->safe_psql('postgres', q{
	CREATE TABLE people (id int PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
	CREATE TABLE notes (id int PRIMARY KEY, person int, created_at timestamptz NOT NULL DEFAULT now());
	INSERT INTO people SELECT g FROM generate_series(1, 5) g;
	INSERT INTO notes SELECT g, g % 5 FROM generate_series(1, 50) g;
	SELECT retention.add_policy('people', 'people', 'created_at', '1 year', subject_column => 'id',
	                            enabled => false);
	SELECT retention.add_policy('notes', 'notes', 'created_at', '1 year', subject_column => 'person',
	                            enabled => false);
});
$node->safe_psql('postgres', q{SELECT count(*) FROM retention.erase_subject('3', 'request 12')});
$head = head();
is($node->safe_psql('postgres', q{SELECT count(*) FROM retention.purge_log WHERE kind = 'erasure'}),
	'2', 'the erasure wrote two audit rows');
@lines = anchor_lines();
is(scalar(@lines), 4, 'and one anchor line');
is($lines[-1], $head, 'naming the erasure\'s last row');
$node->safe_psql('postgres', q{SELECT retention.export_subject('4')});
$head = head();
@lines = anchor_lines();
is(scalar(@lines), 5, 'an export writes one line');
is($lines[-1], $head, 'naming the export\'s row');

# the worker: one run of a due policy, then its head in the log
$node->safe_psql('postgres', q{
	CREATE TABLE by_worker (id int PRIMARY KEY, created_at timestamptz NOT NULL);
	INSERT INTO by_worker SELECT g, now() - interval '2 years' FROM generate_series(1, 100) g;
	SELECT retention.add_policy('by_worker', 'by_worker', 'created_at', '1 year',
	                            batch_size => 30, run_every => '1 hour');
});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM by_worker}), 'the worker purges the table');
ok($node->poll_query_until('postgres', q{
	SELECT last_status = 'ok' FROM retention.policies WHERE name = 'by_worker'}),
	'and finishes its run');
$head = head();
is($node->safe_psql('postgres', q{
	SELECT invoked_by FROM retention.purge_log ORDER BY id DESC LIMIT 1}),
	'worker', 'the head is the worker\'s row');
my $found = 0;
foreach my $i (1 .. 100)
{
	@lines = anchor_lines();
	if (@lines && $lines[-1] eq $head)
	{
		$found = 1;
		last;
	}
	usleep(100_000);
}
ok($found, 'after the worker\'s run the log names its head: ' . $head);
is(scalar(@lines), 6, 'one line for the worker\'s run');

# the logged head is an anchor verify_audit accepts
my ($id, $hex) = split / /, $lines[-1];
is($node->safe_psql('postgres',
	"SELECT row(ok, first_bad_id) FROM retention.verify_audit($id, '\\x$hex')"),
	'(t,)', 'verify_audit accepts the logged anchor');

$node->stop;
done_testing();
