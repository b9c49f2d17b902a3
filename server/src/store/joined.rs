//! Statements run together: small consecutive statements joined into one, so that several
//! cost one hand-off to SQLite's worker thread or one round trip to PostgreSQL (what
//! `Write::defer` and the audit writer's batches rely on). Uses nothing else of the store.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, Values};

use crate::domain::Error;

/// Most bound values in one joined statement. Past it, statements run one by one: a large
/// batch's statements are few and big (a round trip is nothing beside them), and a joined
/// text is prepared and cached by its exact text, so only small ones should be.
const JOIN_MAX_VALUES: usize = 2_000;

/// Runs statements in order, the small consecutive ones joined (`batches`, `join`): one
/// hand-off to SQLite's worker thread, or one round trip to PostgreSQL, for each group.
pub(super) async fn run(txn: &DatabaseTransaction, pending: Vec<Statement>) -> Result<(), Error> {
    for batch in batches(pending) {
        txn.execute_raw(join(batch)).await?;
    }
    Ok(())
}

/// The update that sets the revision counter of a write in a group (`Write`): the one row
/// it touches is no other statement's.
const REVISION_SET: &str = "UPDATE \"registry_revision\" SET \"revision\" = ";

/// Consecutive statements grouped so that each group holds at most `JOIN_MAX_VALUES` values (a
/// larger statement is a group of its own). On PostgreSQL only inserts (and the revision
/// counter's update) are grouped: they become the parts of one `WITH` statement, whose parts
/// all see the snapshot the statement started with and run in no set order — harmless for
/// inserts of new rows (foreign keys are checked at the statement's end) and for an update of
/// a row none of the others touches, not for a delete and an insert of the same key.
pub(super) fn batches(pending: Vec<Statement>) -> Vec<Vec<Statement>> {
    let mut out: Vec<Vec<Statement>> = Vec::new();
    let mut values = 0;
    let mut joinable = false;
    for st in pending {
        let n = st.values.as_ref().map_or(0, |v| v.0.len());
        let can_join = st.db_backend == DbBackend::Sqlite
            || st.sql.starts_with("INSERT ")
            || st.sql.starts_with(REVISION_SET);
        match out.last_mut() {
            Some(group) if joinable && can_join && values + n <= JOIN_MAX_VALUES => {
                values += n;
                group.push(st);
            }
            _ => {
                values = n;
                joinable = can_join;
                out.push(vec![st]);
            }
        }
    }
    out
}

/// Statements of one backend as one: on SQLite the texts with `;` between them (sqlx prepares
/// and runs each in turn, binding the values in order, and returns the rows of any); on
/// PostgreSQL all but the last as the parts of a `WITH`, each part's `$n` renumbered after
/// the values of the parts before it.
pub(super) fn join(mut batch: Vec<Statement>) -> Statement {
    if batch.len() == 1
        && let Some(only) = batch.pop()
    {
        return only;
    }
    let backend = batch.first().map_or(DbBackend::Sqlite, |s| s.db_backend);
    let mut parts = Vec::with_capacity(batch.len());
    let mut values = Vec::new();
    for st in batch {
        parts.push(match backend {
            DbBackend::Postgres => renumber(&st.sql, values.len()),
            _ => st.sql,
        });
        values.extend(st.values.map(|v| v.0).unwrap_or_default());
    }
    let sql = match (backend, parts.pop()) {
        (DbBackend::Postgres, Some(main)) => {
            let with: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(i, part)| format!("\"d{i}\" AS ({part})"))
                .collect();
            format!("WITH {} {main}", with.join(", "))
        }
        (_, main) => {
            parts.extend(main);
            parts.join(";\n")
        }
    };
    Statement {
        sql,
        values: Some(Values(values)),
        db_backend: backend,
    }
}

/// `sql` with each PostgreSQL placeholder `$n` (outside quotes) made `$(n + offset)`.
fn renumber(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut n = 0usize;
                while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                    n = n * 10 + d as usize;
                    chars.next();
                }
                out.push('$');
                out.push_str(&(n + offset).to_string());
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(backend: DbBackend, sql: &str, values: &[i64]) -> Statement {
        Statement::from_sql_and_values(backend, sql, values.iter().map(|v| (*v).into()))
    }

    #[test]
    fn postgres_inserts_join_into_one_with_statement() {
        let pg = DbBackend::Postgres;
        let joined = batches(vec![
            st(pg, r#"INSERT INTO "a" ("x", "y") VALUES ($1, $2)"#, &[1, 2]),
            st(pg, r#"INSERT INTO "b" ("x") VALUES ($1), ($2)"#, &[3, 4]),
            st(pg, r#"INSERT INTO "c" ("$1") VALUES ($1)"#, &[5]),
            st(pg, r#"DELETE FROM "a" WHERE "x" = $1"#, &[6]),
            st(pg, r#"INSERT INTO "a" ("x") VALUES ($1)"#, &[7]),
        ]);
        let sizes: Vec<usize> = joined.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 1, 1]);
        let Some(first) = joined.into_iter().next() else {
            panic!("no group")
        };
        let one = join(first);
        assert_eq!(
            one.sql,
            r#"WITH "d0" AS (INSERT INTO "a" ("x", "y") VALUES ($1, $2)), "d1" AS (INSERT INTO "b" ("x") VALUES ($3), ($4)) INSERT INTO "c" ("$1") VALUES ($5)"#
        );
        assert_eq!(one.values.map(|v| v.0.len()), Some(5));
    }

    #[test]
    fn sqlite_statements_join_with_semicolons_up_to_a_size() {
        let lite = DbBackend::Sqlite;
        let big: Vec<i64> = (1..JOIN_MAX_VALUES as i64).collect();
        let groups = batches(vec![
            st(lite, "DELETE FROM a WHERE x = ?", &[1]),
            st(lite, "INSERT INTO a (x) VALUES (?)", &[2]),
            st(lite, "INSERT INTO b (x) VALUES (?)", &big),
            st(lite, "SELECT x FROM a WHERE x = ?", &[3]),
        ]);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2]);
        let Some(first) = groups.into_iter().next() else {
            panic!("no group")
        };
        let one = join(first);
        assert_eq!(
            one.sql,
            "DELETE FROM a WHERE x = ?;\nINSERT INTO a (x) VALUES (?)"
        );
        assert_eq!(one.values.map(|v| v.0.len()), Some(2));
    }
}
