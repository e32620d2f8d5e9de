# DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE DATABASE ... TEMPLATE
# need the database to themselves: the worker of that database is ended only when the command
# would otherwise succeed. A command that fails on PostgreSQL's own checks (not the owner, a
# transaction block, the current database) leaves the worker alone; the owner's commands
# succeed with no "being accessed by other users", and the worker comes back afterwards.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Spec;

my $node = PostgreSQL::Test::Cluster->new('dropdb');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'retention'
retention.naptime = 1
});
$node->start;

# absolute: from 17 on the directory may be given relative to the test's working directory
my $tablespace_dir = File::Spec->rel2abs(PostgreSQL::Test::Utils::tempdir());
$node->safe_psql('postgres', qq{
	CREATE ROLE alice LOGIN CREATEDB;
	CREATE ROLE mallory LOGIN CREATEDB;
	CREATE DATABASE b OWNER alice;
	CREATE TABLESPACE ts LOCATION '$tablespace_dir';
	GRANT CREATE ON TABLESPACE ts TO alice;
});
$node->safe_psql('b', 'CREATE EXTENSION retention');

sub worker_pid
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = '$db'");
}

sub wait_worker
{
	my ($db) = @_;
	ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = '$db'"),
		"database $db has its worker");
	return worker_pid($db);
}

# Runs a command that must fail with the given error and checks the worker kept its pid.
sub fails_keeps_worker
{
	my ($db, $user, $sql, $error, $what) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'retention worker' AND datname = 'b'")
	  or die 'database b has no worker';
	my $pid = worker_pid('b');
	my ($ret, $stdout, $stderr) = $node->psql($db, $sql, extra_params => [ '-U', $user ]);
	ok($ret != 0 && $stderr =~ /$error/, "$what fails: $error")
	  or diag("ret $ret, stderr: $stderr");
	is(worker_pid('b'), $pid, "$what: the worker of b keeps its pid $pid");
	return;
}

my $pid = wait_worker('b');
fails_keeps_worker('postgres', 'mallory', 'DROP DATABASE b',
	'must be owner of database b', 'a non-owner\'s DROP DATABASE');
fails_keeps_worker('postgres', 'mallory', 'DROP DATABASE b WITH (FORCE)',
	'must be owner of database b', 'a non-owner\'s DROP DATABASE WITH (FORCE)');
fails_keeps_worker('postgres', 'mallory', 'ALTER DATABASE b RENAME TO b2',
	'must be owner of database b', 'a non-owner\'s ALTER DATABASE RENAME');
fails_keeps_worker('postgres', 'mallory', 'ALTER DATABASE b SET TABLESPACE ts',
	'must be owner of database b', 'a non-owner\'s ALTER DATABASE SET TABLESPACE');
fails_keeps_worker('postgres', 'mallory', 'CREATE DATABASE copy TEMPLATE b',
	'permission denied to copy database "b"', 'a non-owner\'s CREATE DATABASE ... TEMPLATE');
fails_keeps_worker('postgres', 'alice', 'BEGIN; DROP DATABASE b; COMMIT',
	'cannot run inside a transaction block', 'the owner\'s DROP DATABASE in a transaction block');
fails_keeps_worker('b', 'alice', 'DROP DATABASE b',
	'cannot drop the currently open database', 'the owner\'s DROP DATABASE of the current database');
fails_keeps_worker('postgres', 'alice', 'ALTER DATABASE b RENAME TO postgres',
	'database "postgres" already exists', 'a RENAME to a name in use');
fails_keeps_worker('postgres', 'alice', 'ALTER DATABASE b SET TABLESPACE nosuch',
	'tablespace "nosuch" does not exist', 'a move to a tablespace that does not exist');
fails_keeps_worker('postgres', 'alice', 'BEGIN; CREATE DATABASE copy TEMPLATE b; COMMIT',
	'cannot run inside a transaction block', 'the owner\'s CREATE DATABASE ... TEMPLATE in a transaction block');
is(worker_pid('b'), $pid, 'after all that, the worker of b is still the one it was');

# the owner's commands succeed while the worker runs, and the worker comes back
my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'CREATE DATABASE copy TEMPLATE b', extra_params => [ '-U', 'alice' ]);
is($ret, 0, 'the owner copies the database while it has a worker') or diag($stderr);
wait_worker('b');

($ret, $stdout, $stderr) =
  $node->psql('postgres', 'ALTER DATABASE b RENAME TO b2', extra_params => [ '-U', 'alice' ]);
is($ret, 0, 'the owner renames the database while it has a worker') or diag($stderr);
wait_worker('b2');
($ret, $stdout, $stderr) =
  $node->psql('postgres', 'ALTER DATABASE b2 SET TABLESPACE ts', extra_params => [ '-U', 'alice' ]);
is($ret, 0, 'the owner moves the database to another tablespace while it has a worker')
  or diag($stderr);
wait_worker('b2');
($ret, $stdout, $stderr) =
  $node->psql('postgres', 'DROP DATABASE b2', extra_params => [ '-U', 'alice' ]);
is($ret, 0, 'the owner drops the database while it has a worker') or diag($stderr);
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_database WHERE datname = 'b2'"), '0',
	'the database is gone');

# DROP DATABASE ... WITH (FORCE) by an owner who is not a superuser: the worker runs as a
# superuser, which FORCE alone could not end
$node->safe_psql('postgres', 'CREATE DATABASE f OWNER alice');
$node->safe_psql('f', 'CREATE EXTENSION retention');
wait_worker('f');
($ret, $stdout, $stderr) =
  $node->psql('postgres', 'DROP DATABASE f WITH (FORCE)', extra_params => [ '-U', 'alice' ]);
is($ret, 0, 'the owner drops the database WITH (FORCE)') or diag($stderr);

$node->stop;
done_testing();
