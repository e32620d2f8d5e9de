/*
 * subjects.hpp: data-subject requests (GDPR articles 17 and 15): erase_subject and
 * export_subject over every relation for which a policy declares a subject_column.
 *
 * Each relation is read and written as its owner in a security-restricted operation, like a
 * run. Erasure takes the holds lock first and leaves held rows; it runs in the caller's
 * transaction, so any row that cannot be deleted aborts the whole erasure. Both are audited
 * with the subject's digest, never the subject.
 */
#pragma once

#include "pg/postgres.hpp"
#include "pg/srf.hpp"

namespace retention::subjects
{

/* Rows of TABLE(relation regclass, rows_erased bigint, rows_held bigint). */
void EraseSubject(const char *subject, const char *reason, const pg::Materialized *result);

/* {"schema.table": [rows...], ...} as jsonb. */
Datum ExportSubject(const char *subject);

} // namespace retention::subjects
