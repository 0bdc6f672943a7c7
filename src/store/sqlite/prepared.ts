/**
 * Prepared statements, compiled once per database and SQL text. better-sqlite3's `prepare` compiles
 * the SQL every time (~20-50 µs), which the serving path paid several times per request (alias,
 * model and key lookups, usage and quota writes). None of our statements changes a statement's
 * mode (`pluck`, `raw`, `expand`), so one compiled statement can serve every caller.
 */
import type Database from 'better-sqlite3';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

export function prepared(db: Database.Database, sql: string): Database.Statement {
  let statements = cache.get(db);
  if (!statements) {
    statements = new Map();
    cache.set(db, statements);
  }
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}
