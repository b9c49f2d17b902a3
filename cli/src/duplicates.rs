//! `homecoming duplicates`: the candidate pairs, best first, with both persons' names; and
//! their review (`merge`, `dismiss`).

use std::collections::HashMap;

use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use futures::{StreamExt, pin_mut};
use homecoming_client::{Client, Error, proto};
use serde_json::json;

use crate::{OutputKind, Usage};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DuplicatesArgs {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// Only the candidates of this person.
    #[arg(long)]
    pub person: Option<String>,
    /// Lowest score listed, 0..1 (default: the server's, 0.8).
    #[arg(long)]
    pub min_score: Option<f64>,
    /// At most this many pairs (0: all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Human table, or JSON Lines for scripts (one pair per line).
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputKind,
}

#[derive(Subcommand)]
pub enum Action {
    /// Merge DUPLICATE into SURVIVOR (its links move, its name becomes an alias, it is gone).
    Merge {
        survivor: String,
        duplicate: String,
        /// Fields to take from the duplicate (update-mask paths, comma separated).
        #[arg(long, value_delimiter = ',')]
        take: Vec<String>,
        /// Makes a retry safe.
        #[arg(long)]
        request_id: Option<String>,
    },
    /// Record that two persons are not one: the pair never comes back.
    Dismiss {
        person: String,
        other_person: String,
        /// Why (kept with the dismissal).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// "Family Given Patronymic, born YYYY-MM-DD", or why the person cannot be shown.
async fn describe(client: &Client, id: &str) -> String {
    match client.persons().get(id).await {
        Ok(p) => {
            let mut s = [p.family_name, p.given_name, p.patronymic]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(d) = p.date_of_birth {
                s.push_str(&format!(", {:04}-{:02}-{:02}", d.year, d.month, d.day));
            }
            s
        }
        Err(Error::NotFound(_)) => "(not found)".to_owned(),
        Err(e) => format!("({e})"),
    }
}

pub async fn run(client: &Client, args: DuplicatesArgs) -> anyhow::Result<()> {
    match args.action {
        Some(Action::Merge {
            survivor,
            duplicate,
            take,
            request_id,
        }) => {
            let take: Vec<&str> = take.iter().map(String::as_str).collect();
            let p = client
                .merge_persons(&survivor, &duplicate, &take, request_id.as_deref())
                .await?;
            println!("merged {duplicate} into {} ({})", p.id, p.etag);
            return Ok(());
        }
        Some(Action::Dismiss {
            person,
            other_person,
            reason,
        }) => {
            client
                .dismiss_duplicate(&person, &other_person, &reason)
                .await?;
            println!("dismissed {person} / {other_person}");
            return Ok(());
        }
        None => {}
    }
    let min = args.min_score.unwrap_or(0.0);
    if args
        .min_score
        .is_some_and(|s| !(0.0..=1.0).contains(&s) || s == 0.0)
    {
        return Err(Usage("--min-score must be above 0 and at most 1".into()).into());
    }
    let stream = client.duplicate_candidates(args.person.as_deref(), min);
    pin_mut!(stream);
    let mut pairs: Vec<proto::DuplicateCandidate> = Vec::new();
    while let Some(c) = stream.next().await {
        pairs.push(c?);
        if args.limit > 0 && pairs.len() >= args.limit {
            break;
        }
    }
    match args.output {
        OutputKind::Json => {
            for c in &pairs {
                println!(
                    "{}",
                    json!({
                        "person_id": c.person_id,
                        "other_person_id": c.other_person_id,
                        "score": c.score,
                        "reasons": c.reasons,
                        "revision": c.revision,
                    })
                );
            }
        }
        OutputKind::Table => {
            let mut names: HashMap<String, String> = HashMap::new();
            let mut t = Table::new();
            t.load_preset(UTF8_BORDERS_ONLY).set_header(vec![
                "Score",
                "Person",
                "Name",
                "Other person",
                "Name",
                "Reasons",
            ]);
            for c in &pairs {
                for id in [&c.person_id, &c.other_person_id] {
                    if !names.contains_key(id) {
                        let d = describe(client, id).await;
                        names.insert(id.clone(), d);
                    }
                }
                t.add_row(vec![
                    format!("{:.2}", c.score),
                    c.person_id.clone(),
                    names.get(&c.person_id).cloned().unwrap_or_default(),
                    c.other_person_id.clone(),
                    names.get(&c.other_person_id).cloned().unwrap_or_default(),
                    c.reasons.join("; "),
                ]);
            }
            if pairs.is_empty() {
                eprintln!("no candidates");
            } else {
                println!("{t}");
            }
        }
    }
    Ok(())
}
