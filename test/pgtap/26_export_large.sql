-- export_subject of a heavy data subject: several MB of rows come back as valid jsonb with every
-- row and its exact content (the JSON text was once parsed after the memory holding it was freed).
\set ON_ERROR_STOP true
SET client_min_messages = warning;
SELECT plan(9);

CREATE TABLE notes (id int PRIMARY KEY, owner_id int, body text, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE messages (id int PRIMARY KEY, owner_id int, body text, at timestamptz NOT NULL DEFAULT now());
-- 4,000 rows of 100 characters for subject 1, others' rows beside them
INSERT INTO notes SELECT g, CASE WHEN g <= 4000 THEN 1 ELSE 2 END, lpad(g::text, 100, 'n')
  FROM generate_series(1, 4500) g;
-- 20,000 rows of 500 characters for subject 3 across two relations
INSERT INTO notes SELECT 10000 + g, 3, lpad(g::text, 500, 'x') FROM generate_series(1, 8000) g;
INSERT INTO messages SELECT g, CASE WHEN g <= 12000 THEN 3 ELSE 4 END, lpad(g::text, 500, 'm')
  FROM generate_series(1, 12500) g;
SELECT retention.add_policy('notes', 'notes', 'at', '1 year', subject_column => 'owner_id') IS NOT NULL AS a \gset
SELECT retention.add_policy('messages', 'messages', 'at', '1 year', subject_column => 'owner_id') IS NOT NULL AS a \gset

CREATE TEMP TABLE e1 AS SELECT retention.export_subject('1') AS j;
SELECT is((SELECT jsonb_array_length(j -> 'public.notes') FROM e1), 4000, '4,000 rows of 100 characters are exported');
SELECT is((SELECT count(*) FROM e1, jsonb_array_elements(j -> 'public.notes') r
           WHERE (r ->> 'body') = lpad(r ->> 'id', 100, 'n') AND (r ->> 'owner_id')::int = 1),
          4000::bigint, 'every exported row has its exact content');
SELECT is((SELECT array_agg(DISTINCT (r ->> 'id')::int ORDER BY (r ->> 'id')::int) FROM e1, jsonb_array_elements(j -> 'public.notes') r),
          (SELECT array_agg(g) FROM generate_series(1, 4000) g), 'each of the subject''s rows once, no other');
SELECT is((SELECT j -> 'public.messages' FROM e1), '[]'::jsonb, 'a relation without rows of the subject gives []');

CREATE TEMP TABLE e3 AS SELECT retention.export_subject('3') AS j;
SELECT cmp_ok((SELECT octet_length(j::text) FROM e3), '>', 10000000, 'the second export is over 10 MB');
SELECT is((SELECT jsonb_array_length(j -> 'public.notes') + jsonb_array_length(j -> 'public.messages') FROM e3),
          20000, '20,000 rows of 500 characters across two relations');
SELECT is((SELECT count(*) FROM e3, jsonb_array_elements(j -> 'public.notes') r
           WHERE (r ->> 'body') = lpad(((r ->> 'id')::int - 10000)::text, 500, 'x')), 8000::bigint,
          'the first relation''s rows are exact');
SELECT is((SELECT count(*) FROM e3, jsonb_array_elements(j -> 'public.messages') r
           WHERE (r ->> 'body') = lpad(r ->> 'id', 500, 'm') AND (r ->> 'owner_id')::int = 3), 12000::bigint,
          'the second relation''s rows are exact');
SELECT is((SELECT sum(rows_affected) FROM retention.purge_log WHERE kind = 'export'), 24000::numeric,
          'both exports are audited with their row counts');

SELECT * FROM finish();
