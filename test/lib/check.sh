# check.sh: the TAP-like helpers of the shell test scripts (test/upgrade, test/restore).
# Sourced, never executed. `check NAME COMMAND...` runs the command and prints "ok - NAME" or
# "not ok - NAME", counting both in $ok and $bad, and returns the command's success so a caller
# may stop what depends on it (`check ... || return`). `psql_q` is psql stopping at the first
# error, without the user's psqlrc.

ok=0
bad=0

check()
{
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
		ok=$((ok + 1))
	else
		echo "not ok - $what"
		bad=$((bad + 1))
		return 1
	fi
}

psql_q()
{
	psql -X -q -v ON_ERROR_STOP=1 "$@"
}
