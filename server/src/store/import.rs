//! ImportPersons: rows matched to stored persons (by id, else by the request's match rule),
//! then created, updated or left as they are, in one write; per row what became of it.
//!
//! Every lookup is batched over the request (one query per 500 keys), so a call of 1,000 rows
//! costs a handful of queries before its writes. Rows are checked against each other too: two
//! rows about the same person, or two new rows with the same match key, fail the later one.

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use super::{
    Store, exchanges, external, links,
    person_rows::find_by,
    persons::{Keys, insert_new, new_person, rewrite},
    record::{self, Stored},
    schema::PERSON_EXTERNAL_IDS,
    write::IdempotencyKey,
};
use crate::domain::{
    Error, ExternalId, FieldViolation, PERSON, Person, PersonFields,
    external::merged,
    import::{ImportMode, ImportReport, ImportRow, MatchRule, Outcome, RowResult},
    schema::Mask,
};

/// What an import does with one row, once matched and checked.
enum Plan {
    Create(PersonFields),
    Update(Box<Person>, PersonFields),
    Unchanged(String),
}

impl Plan {
    /// The fields a plan writes (none when the row is unchanged).
    fn written(&self) -> Option<&PersonFields> {
        match self {
            Plan::Create(f) | Plan::Update(_, f) => Some(f),
            Plan::Unchanged(_) => None,
        }
    }
}

/// How an import is asked for, besides its rows.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub rule: MatchRule,
    pub mode: ImportMode,
    /// Applied to matched persons; `Populated` (no mask): the fields a row carries, and the
    /// row's external ids are added to the person's.
    pub mask: Mask,
    pub request_id: Option<String>,
}

impl Stored for ImportReport {
    fn encode(&self) -> Result<String, Error> {
        serde_json::to_string(self).map_err(|e| Error::Internal(format!("serialize: {e}")))
    }

    fn decode(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored import: {e}")))
    }
}

fn violation(field: String, description: impl Into<String>) -> RowResult {
    RowResult::failed(vec![FieldViolation {
        field,
        description: description.into(),
    }])
}

/// The key a row matches by under `rule` besides its id, if it has one; `Err` says what the
/// rule needs that the row lacks.
fn match_keys(rule: MatchRule, f: &PersonFields) -> Result<Vec<String>, (&'static str, String)> {
    match rule {
        MatchRule::ExternalId if f.external_ids.is_empty() => Err((
            "external_ids",
            "is required to match the row (or give the person's id, or another match rule)".into(),
        )),
        MatchRule::ExternalId => Ok(f.external_ids.iter().map(ExternalId::key).collect()),
        MatchRule::ServiceNumber => {
            let n = f.service_number.trim();
            if n.is_empty() {
                Err(("service_number", "is required by match rule SERVICE_NUMBER".into()))
            } else {
                Ok(vec![n.to_owned()])
            }
        }
        MatchRule::NameAndDateOfBirth => match f.date_of_birth {
            Some(born) if !f.family_name.trim().is_empty() && !f.given_name.trim().is_empty() => {
                Ok(vec![name_key(&f.family_name, &f.given_name, born)])
            }
            _ => Err((
                "family_name",
                "family_name, given_name and date_of_birth are required by match rule NAME_AND_DATE_OF_BIRTH".into(),
            )),
        },
    }
}

fn name_key(family: &str, given: &str, born: chrono::NaiveDate) -> String {
    format!("{}\u{1f}{}\u{1f}{born}", family.trim(), given.trim())
}

impl Store {
    /// Imports up to 1,000 rows (see the module); the report lists every row in order.
    #[tracing::instrument(name = "store.import_persons", skip_all)]
    pub async fn import_persons(
        &self,
        rows: Vec<ImportRow>,
        options: ImportOptions,
    ) -> Result<ImportReport, Error> {
        let ImportOptions {
            rule,
            mode,
            mask,
            request_id,
        } = options;
        let key = IdempotencyKey::of("ImportPersons", request_id, || {
            let mut s = format!("{rule:?}|{mode:?}|{mask:?}");
            for r in &rows {
                s.push('\n');
                s.push_str(r.id.as_deref().unwrap_or_default());
                s.push('|');
                s.push_str(&record::request_json(&r.fields)?);
                for v in &r.violations {
                    s.push_str(&v.to_string());
                }
            }
            Ok(s)
        })?;
        let mut w = self.begin_write().await?;
        if let Some(key) = &key
            && let Some(done) = w.recall::<ImportReport>(key).await?
        {
            return Ok(done);
        }
        let today = Utc::now().date_naive();
        let n = rows.len();
        let mut results: Vec<Option<RowResult>> = vec![None; n];
        let prefix = |i: usize| format!("persons[{i}].");
        for (i, r) in rows.iter().enumerate() {
            if !r.violations.is_empty() {
                results[i] = Some(RowResult::failed(r.violations.clone()));
            }
        }

        // Which stored person each row is about.
        let mut keys: Vec<Vec<String>> = vec![Vec::new(); n];
        for (i, r) in rows.iter().enumerate() {
            if results[i].is_some() || r.id.is_some() {
                continue;
            }
            match match_keys(rule, &r.fields) {
                Ok(k) => keys[i] = k,
                Err((field, msg)) => {
                    results[i] = Some(violation(format!("{}{field}", prefix(i)), msg))
                }
            }
        }
        let all_keys: Vec<String> = keys.iter().flatten().cloned().collect();
        let sees_restricted = self.sees_restricted();
        let visible = |p: &Person| sees_restricted || !p.fields.restricted;
        // key → the persons it names.
        let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
        let mut stored: HashMap<String, Person> = HashMap::new();
        match rule {
            MatchRule::ExternalId => {
                let owners =
                    external::owners(w.txn().await?, PERSON_EXTERNAL_IDS, all_keys).await?;
                for (k, owner) in owners {
                    by_key.entry(k).or_default().push(owner);
                }
            }
            MatchRule::ServiceNumber | MatchRule::NameAndDateOfBirth => {
                let (column, values): (&str, Vec<String>) = match rule {
                    MatchRule::ServiceNumber => ("service_number", all_keys),
                    _ => (
                        "family_name",
                        rows.iter()
                            .zip(&keys)
                            .filter(|(_, k)| !k.is_empty())
                            .map(|(r, _)| r.fields.family_name.trim().to_owned())
                            .collect::<HashSet<_>>()
                            .into_iter()
                            .collect(),
                    ),
                };
                for p in find_by(w.txn().await?, column, &values).await? {
                    if !visible(&p) {
                        continue;
                    }
                    let k = match rule {
                        MatchRule::ServiceNumber => Some(p.fields.service_number.clone()),
                        _ => p
                            .fields
                            .date_of_birth
                            .map(|d| name_key(&p.fields.family_name, &p.fields.given_name, d)),
                    };
                    if let Some(k) = k {
                        by_key.entry(k).or_default().push(p.meta.id.clone());
                    }
                    stored.insert(p.meta.id.clone(), p);
                }
            }
        }
        let mut target: Vec<Option<String>> = vec![None; n];
        for (i, r) in rows.iter().enumerate() {
            if results[i].is_some() {
                continue;
            }
            if let Some(id) = &r.id {
                target[i] = Some(id.clone());
                continue;
            }
            let mut found: Vec<&String> = keys[i]
                .iter()
                .filter_map(|k| by_key.get(k))
                .flatten()
                .collect();
            found.sort();
            found.dedup();
            match found.as_slice() {
                [] => {}
                [one] => target[i] = Some((*one).clone()),
                many => {
                    let ids: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                    let field = match rule {
                        MatchRule::ExternalId => "external_ids",
                        MatchRule::ServiceNumber => "service_number",
                        MatchRule::NameAndDateOfBirth => "family_name",
                    };
                    results[i] = Some(violation(
                        format!("{}{field}", prefix(i)),
                        format!(
                            "matches {} persons ({}); give the person's id",
                            many.len(),
                            ids.join(", ")
                        ),
                    ));
                }
            }
        }
        let missing: Vec<String> = target
            .iter()
            .flatten()
            .filter(|id| !stored.contains_key(*id))
            .cloned()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        for p in find_by(w.txn().await?, "id", &missing).await? {
            if visible(&p) {
                stored.insert(p.meta.id.clone(), p);
            }
        }

        // Rows against each other: one row per person, one new row per match key.
        let mut person_row: HashMap<&str, usize> = HashMap::new();
        let mut key_row: HashMap<&str, usize> = HashMap::new();
        for i in 0..n {
            if results[i].is_some() {
                continue;
            }
            match &target[i] {
                Some(id) if !stored.contains_key(id) => {
                    results[i] = Some(violation(
                        format!("{}id", prefix(i)),
                        format!("no person with id {id:?}"),
                    ));
                }
                Some(id) => {
                    if let Some(k) = person_row.insert(id.as_str(), i) {
                        person_row.insert(id.as_str(), k);
                        results[i] = Some(violation(
                            prefix(i).trim_end_matches('.').to_owned(),
                            format!("is about the same person as persons[{k}] ({id})"),
                        ));
                    }
                }
                None => {
                    if let Some(k) = keys[i]
                        .iter()
                        .find_map(|key| key_row.get(key.as_str()).copied())
                    {
                        results[i] = Some(violation(
                            prefix(i).trim_end_matches('.').to_owned(),
                            format!(
                                "duplicates persons[{k}] (the same match key: {})",
                                keys[i].join(", ")
                            ),
                        ));
                    } else {
                        for key in &keys[i] {
                            key_row.insert(key.as_str(), i);
                        }
                    }
                }
            }
        }

        // Each row's new fields, validated.
        let replace_ids = match &mask {
            Mask::All => true,
            Mask::Paths(p) => p.contains(&"external_ids"),
            Mask::Populated => false,
        };
        let mut plans: Vec<Option<Plan>> = Vec::with_capacity(n);
        for (i, r) in rows.into_iter().enumerate() {
            if results[i].is_some() {
                plans.push(None);
                continue;
            }
            let at = prefix(i);
            let at = at.trim_end_matches('.');
            let plan = match target[i].as_ref().and_then(|id| stored.get(id)) {
                None => r.fields.validate(today).map(Plan::Create),
                Some(current) => {
                    let mut fields = current.fields.clone();
                    PERSON
                        .apply(&mut fields, &r.fields, &mask)
                        .and_then(|()| {
                            if !replace_ids {
                                fields.external_ids =
                                    merged(&current.fields.external_ids, &r.fields.external_ids);
                            }
                            fields.validate(today)
                        })
                        .map(|fields| {
                            if fields == current.fields {
                                Plan::Unchanged(current.meta.id.clone())
                            } else {
                                Plan::Update(Box::new(current.clone()), fields)
                            }
                        })
                }
            };
            match plan.map_err(|e| e.prefixed(at)) {
                Ok(p) => plans.push(Some(p)),
                Err(e) => {
                    results[i] = Some(RowResult::failed_with(at, e));
                    plans.push(None);
                }
            }
        }

        // Permissions, references and external ids of what would be written.
        let exchange_ids: HashSet<String> = plans
            .iter()
            .flatten()
            .filter_map(Plan::written)
            .filter_map(|f| f.exchange_id.clone())
            .collect();
        let exchanges::References { dates, codes } = exchanges::references(
            w.txn().await?,
            exchange_ids,
            plans
                .iter()
                .flatten()
                .filter_map(Plan::written)
                .flat_map(|f| f.category_codes.iter()),
        )
        .await?;
        let owners = external::owners(
            w.txn().await?,
            PERSON_EXTERNAL_IDS,
            plans
                .iter()
                .flatten()
                .filter_map(Plan::written)
                .flat_map(|f| f.external_ids.iter().map(ExternalId::key)),
        )
        .await?;
        let mut claimed: HashMap<String, usize> = HashMap::new();
        for (i, plan) in plans.iter_mut().enumerate() {
            let Some(p) = plan.as_ref() else { continue };
            let Some(f) = Plan::written(p) else { continue };
            let owner = match p {
                Plan::Update(current, _) => Some(current.meta.id.as_str()),
                _ => None,
            };
            let at = prefix(i);
            let mut v = crate::domain::Violations::new();
            if f.restricted
                && !sees_restricted
                && !matches!(p, Plan::Update(c, _) if c.fields.restricted)
            {
                v.add(
                    format!("{at}restricted"),
                    "only an admin may mark a person restricted",
                );
            }
            if let Some(x) = &f.exchange_id
                && !dates.contains_key(x)
            {
                v.add(
                    format!("{at}exchange_id"),
                    format!("no exchange with id {x:?}"),
                );
            }
            links::unknown_codes(&mut v, &at, &f.category_codes, &codes);
            for (j, x) in f.external_ids.iter().enumerate() {
                let k = x.key();
                if owners.get(&k).is_some_and(|o| Some(o.as_str()) != owner) {
                    v.add(
                        format!("{at}external_ids[{j}]"),
                        format!("{k:?} is another person's"),
                    );
                } else if let Some(other) = claimed.get(&k).filter(|o| **o != i) {
                    v.add(
                        format!("{at}external_ids[{j}]"),
                        format!("{k:?} is also claimed by persons[{other}]"),
                    );
                } else {
                    claimed.insert(k, i);
                }
            }
            if let Err(e) = v.finish(()) {
                results[i] = Some(RowResult::failed_with(at.trim_end_matches('.'), e));
                *plan = None;
            }
        }

        let any_failed = results.iter().any(Option::is_some);
        let writes = !(mode == ImportMode::AllOrNothing && any_failed);
        let mut created = Vec::new();
        let mut outcomes: Vec<(usize, Outcome, String)> = Vec::new();
        let mut changed = false;
        for (i, plan) in plans.into_iter().enumerate() {
            let Some(plan) = plan else { continue };
            match plan {
                Plan::Unchanged(id) => outcomes.push((i, Outcome::Unchanged, id)),
                Plan::Create(f) => {
                    let p = new_person(&w, f, &dates, today);
                    outcomes.push((i, Outcome::Created, p.meta.id.clone()));
                    created.push(p);
                }
                Plan::Update(current, f) => {
                    if writes {
                        rewrite(&mut w, &current, f).await?;
                        changed = true;
                    }
                    outcomes.push((i, Outcome::Updated, current.meta.id.clone()));
                }
            }
        }
        if writes && !created.is_empty() {
            let keys: Vec<Keys> = created
                .iter()
                .map(|p| Keys::of(&p.fields, w.duplicate_search))
                .collect();
            insert_new(&mut w, &created, &keys).await?;
            changed = true;
        }
        let written = writes && !self.validate_only;
        for (i, outcome, id) in outcomes {
            let person_id = if written || outcome != Outcome::Created {
                id
            } else {
                String::new()
            };
            results[i] = Some(RowResult {
                outcome,
                person_id,
                violations: Vec::new(),
            });
        }
        let report = ImportReport {
            results: results
                .into_iter()
                .map(|r| r.ok_or_else(|| Error::Internal("an import row has no result".into())))
                .collect::<Result<_, _>>()?,
            written,
            revision: if written && changed { w.revision } else { 0 },
        };
        if !changed {
            // Nothing to write: the revision is given back.
            w.discard().await?;
            return Ok(report);
        }
        if let Some(key) = &key {
            w.remember(key, &report)?;
        }
        w.commit().await?;
        Ok(report)
    }
}
