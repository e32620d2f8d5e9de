-- fingerprint.sql: everything that makes up an installation of retention, as text, so that an
-- upgraded database can be compared line by line with a fresh one. No OIDs, no timestamps.
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT 'version ' || extversion FROM pg_catalog.pg_extension WHERE extname = 'retention';

-- the extension's member objects
SELECT 'member ' || pg_catalog.pg_describe_object(classid, objid, objsubid)
FROM pg_catalog.pg_depend
WHERE refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
  AND refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'retention')
  AND deptype = 'e'
ORDER BY 1;

-- tables dumped with the database (pg_extension_config_dump)
SELECT 'config_dump ' || c::pg_catalog.regclass::text || ' ' || COALESCE(f, '')
FROM pg_catalog.pg_extension e,
     ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS u(c, f)
WHERE e.extname = 'retention'
ORDER BY 1;

-- columns of every table, view and sequence, in their order
SELECT pg_catalog.format('column %I.%I %s %s %s %s notnull=%s default=%s ident=%s gen=%s',
                         n.nspname, c.relname, c.relkind, a.attnum, a.attname,
                         pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                         pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname IN ('retention', '_retention') AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
ORDER BY n.nspname, c.relname, a.attnum;

-- relations: kind, persistence, options, privileges, comments
SELECT pg_catalog.format('relation %I.%I kind=%s persistence=%s options=%s acl=%s comment=%s',
                         n.nspname, c.relname, c.relkind, c.relpersistence, c.reloptions,
                         c.relacl, pg_catalog.obj_description(c.oid, 'pg_class'))
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('retention', '_retention')
ORDER BY n.nspname, c.relname;

-- constraints, indexes, triggers, rules, row-level security
SELECT pg_catalog.format('constraint %s %I %s', co.conrelid::pg_catalog.regclass, co.conname,
                         pg_catalog.pg_get_constraintdef(co.oid))
FROM pg_catalog.pg_constraint co
JOIN pg_catalog.pg_namespace n ON n.oid = co.connamespace
WHERE n.nspname IN ('retention', '_retention')
ORDER BY 1;
SELECT 'index ' || pg_catalog.pg_get_indexdef(i.indexrelid)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('retention', '_retention')
ORDER BY 1;
SELECT 'trigger ' || pg_catalog.pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('retention', '_retention') AND NOT t.tgisinternal
ORDER BY 1;
SELECT pg_catalog.format('rls %s enabled=%s forced=%s', c.oid::pg_catalog.regclass,
                         c.relrowsecurity, c.relforcerowsecurity)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('retention', '_retention') AND c.relkind IN ('r', 'p')
ORDER BY 1;

-- views, as PostgreSQL deparses them
SELECT pg_catalog.format('view %s %s', c.oid::pg_catalog.regclass, pg_catalog.pg_get_viewdef(c.oid))
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('retention', '_retention') AND c.relkind IN ('v', 'm')
ORDER BY 1;

-- sequences
SELECT pg_catalog.format('sequence %s %s %s %s %s %s %s', s.seqrelid::pg_catalog.regclass,
                         pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
                         s.seqmax, s.seqmin, s.seqcycle)
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('retention', '_retention')
ORDER BY 1;

-- functions and procedures: full definition, privileges, comment
SELECT pg_catalog.format('function %s acl=%s comment=%s%s%s', p.oid::pg_catalog.regprocedure,
                         p.proacl, pg_catalog.obj_description(p.oid, 'pg_proc'), E'\n',
                         CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_catalog.pg_get_functiondef(p.oid) END)
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname IN ('retention', '_retention')
ORDER BY p.oid::pg_catalog.regprocedure::text;

-- schemas
SELECT pg_catalog.format('schema %I owner-is-superuser=%s acl=%s comment=%s', n.nspname,
                         r.rolsuper, n.nspacl, pg_catalog.obj_description(n.oid, 'pg_namespace'))
FROM pg_catalog.pg_namespace n
JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
WHERE n.nspname IN ('retention', '_retention')
ORDER BY 1;
