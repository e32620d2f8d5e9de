#!/usr/bin/env python3
"""sql_qualified.py: every reference in an extension script must name its schema.

CREATE EXTENSION and ALTER EXTENSION UPDATE run their script as a superuser with search_path set
to the extension's schema (usually public, which the database owner controls), then pg_temp;
pg_catalog is searched first. A function is chosen among every candidate on that path, so a
planted public.nextval(text) beats pg_catalog.nextval(regclass) for an unknown literal, and a
planted public.unnest(text[]) beats the polymorphic pg_catalog.unnest(anyarray) (CVE-2022-2625).
This lint reads the scripts (install and upgrade) as tokens and fails, naming file and line, on:

  - a function call whose name has no schema: `count(*)`, `nextval(...)`, `unnest(...)`
    (SQL constructs that look like calls but are grammar, such as coalesce, nullif, greatest,
    least, extract, trim, position, exists, and keywords followed by a parenthesis, are allowed);
  - a cast to a type named without a schema: `x::text` (the SQL-standard type keywords int,
    bigint, boolean, interval, numeric, timestamp ... are allowed: the grammar maps them to
    pg_catalog itself);
  - a sequence or relation named in a string without its schema where it is looked up on the
    search_path: the first argument of nextval/currval/setval/pg_extension_config_dump and
    literals cast to regclass, regproc, regprocedure, regoper, regoperator, regtype; nextval's
    argument must also be cast to regclass explicitly, as pg_dump writes it.

Bodies of functions and DO blocks (dollar-quoted) are checked like the rest: a LANGUAGE sql or
plpgsql body is resolved at every call with the caller's search_path unless the function pins it.

What it does not check, and why that is safe or covered elsewhere:
  - operators: which operator wins depends on operand types, which a lexer cannot know; the TAP
    test t/004_install_planted.pl plants operators in public for every pair of the types the
    scripts compare and checks in pg_depend that nothing the extension created binds one;
  - type names in column and argument declarations: a type cannot be overloaded and pg_catalog
    is searched before public, so a planted type of the same name is never chosen;
  - bodies written as single-quoted strings (the scripts use dollar quotes for bodies).

Usage: sql_qualified.py FILE...   exit status 1 if anything is unqualified, 2 on bad usage.
"""

import re
import sys

# Keywords and grammar constructs that may be followed by "(" without being a function call
# resolved on the search_path. Function-like constructs are listed only when the grammar turns
# them into something other than a plain call by name (SystemFuncName, a special node), so
# substring, overlay, left, right, format, replace ... must be written pg_catalog.name(...).
NOT_CALLS = {
    # statement and clause keywords
    "all", "and", "any", "array", "as", "between", "by", "case", "check", "conflict", "cube",
    "default", "distinct", "do", "else", "elsif", "end", "except", "exclude", "exists", "filter",
    "for", "foreign", "from", "group", "grouping", "having", "if", "in", "include", "intersect",
    "into", "is", "join", "key", "lateral", "like", "ilike", "limit", "list", "not", "null",
    "offset", "on", "operator", "or", "over", "partition", "perform", "query", "range",
    "references", "return", "returning", "returns", "rollup", "row", "rows", "select", "set",
    "sets", "similar", "some", "table", "then", "to", "union", "unique", "using", "values",
    "when", "where", "while", "window", "with", "within", "hash", "loop", "raise", "execute",
    "ordinality", "primary", "foreach", "slice", "strict", "generated", "stored", "identity",
    "owned", "concurrently", "only", "collate", "sequence", "index", "view", "trigger",
    "materialized",
    "function", "procedure", "aggregate", "type", "domain", "each", "statement", "before",
    "after", "instead", "of", "inherits", "create", "insert", "update", "delete", "order",
    # grammar constructs that bind pg_catalog themselves or build special nodes
    "cast", "coalesce", "nullif", "greatest", "least", "extract", "trim", "position",
    "normalize", "current_timestamp", "current_time", "localtimestamp", "localtime",
    "treat", "xmlelement", "xmlforest", "xmlparse", "xmlpi", "xmlroot", "xmlserialize",
    "xmlexists", "xmlconcat",
    # index access methods after USING
    "btree", "gist", "gin", "brin", "spgist",
}

# Type names that take a modifier in parentheses (numeric(10, 2)) in a declaration, where they
# name a type, not a function.
TYPMOD_TYPES = {"numeric", "decimal", "dec", "varchar", "char", "character", "varying", "bit",
                "timestamp", "time", "interval", "float", "timestamptz", "timetz", "varbit",
                "bpchar"}

# Type keywords the grammar maps to pg_catalog types (SystemTypeName): safe after "::".
KEYWORD_TYPES = {"bigint", "bit", "boolean", "char", "character", "dec", "decimal", "double",
                 "float", "int", "integer", "interval", "national", "nchar", "numeric", "real",
                 "smallint", "time", "timestamp", "varchar", "setof"}

# Functions whose first string argument is looked up as a relation on the search_path.
RELATION_ARG_FUNCTIONS = {"nextval", "currval", "setval", "pg_extension_config_dump"}
NAME_LOOKUP_TYPES = {"regclass", "regproc", "regprocedure", "regoper", "regoperator", "regtype"}

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<line_comment>--[^\n]*)
  | (?P<block_comment>/\*)
  | (?P<dollar>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)
  | (?P<string>[EeBbXxUu]?'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<param>\$[0-9]+)
  | (?P<ident>[A-Za-z_\x80-\uffff][A-Za-z0-9_$\x80-\uffff]*)
  | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)
  | (?P<cast>::)
  | (?P<punct>[().,;\[\]])
  | (?P<op>[+\-*/<>=~!@#%^&|`?:]+)
""", re.VERBOSE)


class Token:
    __slots__ = ("kind", "text", "line")

    def __init__(self, kind, text, line):
        self.kind = kind
        self.text = text
        self.line = line

    @property
    def word(self):
        """The identifier as PostgreSQL folds it (lower case unless quoted)."""
        if self.kind == "quoted":
            return self.text[1:-1].replace('""', '"')
        return self.text.lower()


def tokenize(text, first_line, path):
    """Tokens of SQL text, with comments dropped and dollar-quoted bodies tokenized in place."""
    tokens = []
    pos = 0
    line = first_line
    while pos < len(text):
        # psql meta-commands (\echo ... \quit) are not SQL
        if text[pos] == "\\" and (pos == 0 or text[pos - 1] == "\n"):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            pos = end
            continue
        m = TOKEN.match(text, pos)
        if m is None:
            raise SyntaxError(f"{path}:{line}: cannot read {text[pos:pos + 20]!r}")
        kind = m.lastgroup
        chunk = m.group()
        if kind == "block_comment":
            depth, end = 1, m.end()
            while depth and end < len(text):
                if text.startswith("/*", end):
                    depth, end = depth + 1, end + 2
                elif text.startswith("*/", end):
                    depth, end = depth - 1, end + 2
                else:
                    end += 1
            chunk = text[pos:end]
        elif kind == "dollar":
            close = text.find(chunk, m.end())
            if close < 0:
                raise SyntaxError(f"{path}:{line}: unterminated {chunk} quote")
            body = text[m.end():close]
            tokens.append(Token("body_start", chunk, line))
            tokens.extend(tokenize(body, line + chunk.count("\n"), path))
            tokens.append(Token("body_end", chunk, line + text[pos:close].count("\n")))
            chunk = text[pos:close + len(chunk)]
        elif kind not in ("space", "line_comment"):
            tokens.append(Token(kind, chunk, line))
        line += chunk.count("\n")
        pos += len(chunk)
    return tokens


def is_name(token):
    return token is not None and token.kind in ("ident", "quoted")


def literal_value(token):
    text = token.text
    if text[0] in "EeBbXxUu":
        text = text[1:]
    return text[1:-1].replace("''", "'")


def check(path):
    with open(path, encoding="utf-8") as f:
        tokens = tokenize(f.read(), 1, path)
    problems = []

    def at(i):
        return tokens[i] if 0 <= i < len(tokens) else None

    for i, tok in enumerate(tokens):
        prev, nxt = at(i - 1), at(i + 1)
        qualified = prev is not None and prev.text == "."

        # a call by name: name "(" with no schema in front
        if is_name(tok) and nxt is not None and nxt.text == "(" and not qualified:
            word = tok.word
            after = at(i + 2)
            if tok.kind == "ident" and word in NOT_CALLS:
                pass
            elif word in TYPMOD_TYPES and after is not None and after.kind == "number":
                pass
            elif prev is not None and prev.kind == "ident" and prev.word == "as":
                pass  # a column alias list: unnest(...) AS p(partition)
            elif is_cte_columns(tokens, i):
                pass  # WITH name (columns) AS (...)
            else:
                problems.append((tok.line, f"unqualified call {tok.text}(...): write "
                                           f"pg_catalog.{word}(...) or the function's schema"))

        # string arguments looked up as relations
        if is_name(tok) and tok.word in RELATION_ARG_FUNCTIONS and nxt is not None \
                and nxt.text == "(":
            arg = at(i + 2)
            if arg is not None and arg.kind == "string":
                if "." not in literal_value(arg):
                    problems.append((arg.line, f"{tok.word}({arg.text}): name the schema of "
                                               f"the relation inside the string"))
                if tok.word == "nextval":
                    cast, typ = at(i + 3), at(i + 4)
                    typ_name = typ.word if is_name(typ) else ""
                    if typ_name == "pg_catalog" and at(i + 5) is not None \
                            and at(i + 5).text == ".":
                        typ_name = at(i + 6).word if is_name(at(i + 6)) else ""
                    if not (cast is not None and cast.kind == "cast" and typ_name == "regclass"):
                        problems.append((arg.line, f"nextval({arg.text}): cast the name to "
                                                   f"pg_catalog.regclass"))

        # casts: "::" type
        if tok.kind == "cast" and is_name(nxt):
            type_qualified = at(i + 2) is not None and at(i + 2).text == "."
            if type_qualified:
                type_word = at(i + 3).word if is_name(at(i + 3)) else ""
            else:
                type_word = nxt.word
                if not (nxt.kind == "ident" and type_word in KEYWORD_TYPES):
                    problems.append((nxt.line, f"unqualified cast ::{nxt.text}: write "
                                               f"::pg_catalog.{type_word}"))
            if type_word in NAME_LOOKUP_TYPES and prev is not None and prev.kind == "string" \
                    and "." not in literal_value(prev):
                problems.append((prev.line, f"{prev.text}::{type_word}: name the schema inside "
                                            f"the string"))

        # CAST(expression AS type)
        if tok.kind == "ident" and tok.word == "cast" and nxt is not None and nxt.text == "(":
            depth, j, last_as = 0, i + 1, None
            while j < len(tokens):
                if tokens[j].text in ("(", "["):
                    depth += 1
                elif tokens[j].text in (")", "]"):
                    depth -= 1
                    if depth == 0:
                        break
                elif depth == 1 and tokens[j].kind == "ident" and tokens[j].word == "as":
                    last_as = j
                j += 1
            typ = at(last_as + 1) if last_as is not None else None
            if is_name(typ) and not (at(last_as + 2) is not None and at(last_as + 2).text == ".") \
                    and not (typ.kind == "ident" and typ.word in KEYWORD_TYPES):
                problems.append((typ.line, f"unqualified type in CAST(... AS {typ.text}): write "
                                           f"pg_catalog.{typ.word}"))
    return problems


def is_cte_columns(tokens, i):
    """Whether tokens[i] is a WITH query's name followed by its column list: name (a, b) AS (."""
    if i == 0 or not (tokens[i - 1].text == "," or tokens[i - 1].word in ("with", "recursive")):
        return False
    depth, j = 0, i + 1
    while j < len(tokens):
        if tokens[j].text == "(":
            depth += 1
        elif tokens[j].text == ")":
            depth -= 1
            if depth == 0:
                break
        j += 1
    rest = [t.word for t in tokens[j + 1:j + 5] if t.word not in ("not", "materialized")]
    return rest[:2] == ["as", "("]


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    failed = False
    for path in argv[1:]:
        try:
            problems = check(path)
        except (OSError, SyntaxError) as e:
            print(e, file=sys.stderr)
            return 2
        for line, message in sorted(problems):
            print(f"{path}:{line}: {message}")
        failed = failed or bool(problems)
        if not problems:
            print(f"{path}: every reference is schema-qualified")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
