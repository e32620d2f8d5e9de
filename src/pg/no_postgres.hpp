/*
 * no_postgres.hpp: included last by every core source file (src/policy/). Core code is plain
 * C++ that unit tests build without a server; if postgres.h slipped in through another header,
 * this stops the build.
 */
#pragma once

#ifdef PG_VERSION_NUM
#error "core code (src/policy/) must not include PostgreSQL headers"
#endif
