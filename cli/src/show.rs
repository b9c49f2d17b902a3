//! get, list, watch, summary and statistics: human tables (comfy-table aligns wide Cyrillic
//! text by its display width) or JSON for scripts (`-o json`).

use clap::{Args, ValueEnum};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use futures::{StreamExt, TryStreamExt, pin_mut};
use homecoming_client::{Client, ListQuery, WatchEvent, proto};
use serde_json::{Value as Json, json};

use crate::{
    OutputKind, Usage,
    columns::{self, Column, date_cell, parse_date, time_cell, to_json},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    Person,
    Exchange,
    Category,
    Event,
}

#[derive(Args)]
pub struct GetArgs {
    pub kind: Kind,
    /// The id; or `system/id` with --external (persons and exchanges).
    pub id: String,
    /// Look the record up by an external id (`coordination-hq/12345`).
    #[arg(long)]
    pub external: bool,
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Plural {
    Persons,
    Exchanges,
    Categories,
    Events,
}

#[derive(Args)]
pub struct ListArgs {
    pub what: Plural,
    #[arg(long, default_value = "")]
    pub filter: String,
    #[arg(long, default_value = "")]
    pub order_by: String,
    /// At most this many rows (0: all).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputKind,
}

#[derive(Args)]
pub struct WatchArgs {
    /// Only these resource types (default: all).
    #[arg(long = "type", value_enum)]
    pub types: Vec<Plural>,
    #[arg(long, default_value = "")]
    pub filter: String,
    /// Resume after this revision (the last one a previous watch printed).
    #[arg(long)]
    pub start_revision: Option<i64>,
    #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
    pub output: OutputKind,
}

/// The columns a list table shows (all of them go to `-o json`).
const PERSON_SUMMARY: &[&str] = &[
    "id",
    "family_name",
    "given_name",
    "patronymic",
    "date_of_birth",
    "status",
    "capture_date",
    "exchange_id",
];
const EXCHANGE_SUMMARY: &[&str] = &[
    "id",
    "title",
    "exchange_date",
    "status",
    "announced_returned_count",
];
const CATEGORY_SUMMARY: &[&str] = &["code", "title", "kind"];
const EVENT_SUMMARY: &[&str] = &["id", "person_id", "type", "date", "place"];

fn vertical<T>(cols: &[Column<T>], r: &T) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    for c in cols {
        let v = (c.get)(r);
        if !v.is_empty() {
            t.add_row(vec![c.name.to_owned(), v]);
        }
    }
    t
}

fn print_one<T>(cols: &[Column<T>], r: &T, out: OutputKind) -> anyhow::Result<()> {
    match out {
        OutputKind::Json => println!("{}", serde_json::to_string_pretty(&to_json(cols, r))?),
        OutputKind::Table => println!("{}", vertical(cols, r)),
    }
    Ok(())
}

fn external(key: &str) -> Result<(&str, &str), Usage> {
    key.split_once('/')
        .filter(|(s, i)| !s.is_empty() && !i.is_empty())
        .ok_or_else(|| Usage(format!("{key:?}: write an external id as system/id")))
}

pub async fn get(client: &Client, a: GetArgs) -> anyhow::Result<()> {
    match (a.kind, a.external) {
        (Kind::Person, false) => print_one(
            &columns::persons(),
            &client.persons().get(&a.id).await?,
            a.output,
        ),
        (Kind::Person, true) => {
            let (s, i) = external(&a.id)?;
            print_one(
                &columns::persons(),
                &client.persons().lookup(s, i).await?,
                a.output,
            )
        }
        (Kind::Exchange, false) => print_one(
            &columns::exchanges(),
            &client.exchanges().get(&a.id).await?,
            a.output,
        ),
        (Kind::Exchange, true) => {
            let (s, i) = external(&a.id)?;
            print_one(
                &columns::exchanges(),
                &client.exchanges().lookup(s, i).await?,
                a.output,
            )
        }
        (Kind::Category, false) => print_one(
            &columns::categories(),
            &client.categories().get(&a.id).await?,
            a.output,
        ),
        (Kind::Event, false) => print_one(
            &columns::events(),
            &client.events().get(&a.id).await?,
            a.output,
        ),
        (Kind::Category | Kind::Event, true) => {
            Err(Usage("only persons and exchanges have external ids".into()).into())
        }
    }
}

async fn print_list<T>(
    cols: &[Column<T>],
    shown: &[&str],
    items: impl futures::Stream<Item = Result<T, homecoming_client::Error>>,
    limit: usize,
    out: OutputKind,
) -> anyhow::Result<()> {
    let items = items.take(if limit == 0 { usize::MAX } else { limit });
    pin_mut!(items);
    match out {
        OutputKind::Json => {
            // One JSON object per line: streams, and `jq` reads it.
            while let Some(r) = items.try_next().await? {
                println!("{}", to_json(cols, &r));
            }
        }
        OutputKind::Table => {
            let picked: Vec<&Column<T>> = shown
                .iter()
                .filter_map(|n| cols.iter().find(|c| c.name == *n))
                .collect();
            let mut t = Table::new();
            t.load_preset(UTF8_BORDERS_ONLY);
            t.set_header(picked.iter().map(|c| c.label).collect::<Vec<_>>());
            let mut n = 0;
            while let Some(r) = items.try_next().await? {
                t.add_row(picked.iter().map(|c| (c.get)(&r)).collect::<Vec<_>>());
                n += 1;
            }
            println!("{t}");
            eprintln!("{n} shown");
        }
    }
    Ok(())
}

pub async fn list(client: &Client, a: ListArgs) -> anyhow::Result<()> {
    let q = ListQuery::new()
        .filter(a.filter.clone())
        .order_by(a.order_by.clone())
        .page_size(if a.limit > 0 && a.limit < 1000 {
            a.limit as i32
        } else {
            1000
        });
    match a.what {
        Plural::Persons => {
            print_list(
                &columns::persons(),
                PERSON_SUMMARY,
                client.persons().list(q),
                a.limit,
                a.output,
            )
            .await
        }
        Plural::Exchanges => {
            print_list(
                &columns::exchanges(),
                EXCHANGE_SUMMARY,
                client.exchanges().list(q),
                a.limit,
                a.output,
            )
            .await
        }
        Plural::Categories => {
            print_list(
                &columns::categories(),
                CATEGORY_SUMMARY,
                client.categories().list(q),
                a.limit,
                a.output,
            )
            .await
        }
        Plural::Events => {
            print_list(
                &columns::events(),
                EVENT_SUMMARY,
                client.events().list(q),
                a.limit,
                a.output,
            )
            .await
        }
    }
}

fn resource_type(p: Plural) -> proto::ResourceType {
    match p {
        Plural::Persons => proto::ResourceType::Person,
        Plural::Exchanges => proto::ResourceType::Exchange,
        Plural::Categories => proto::ResourceType::Category,
        Plural::Events => proto::ResourceType::PersonEvent,
    }
}

/// One watch event: its type, resource kind, id and a short description, as a line or JSON.
fn event_line(e: &proto::Event, out: OutputKind) -> String {
    use proto::event::Resource;
    let kind = proto::EventType::try_from(e.r#type)
        .map(|t| t.as_str_name().trim_start_matches("EVENT_TYPE_"))
        .unwrap_or("?");
    let (what, json, id, about) = match &e.resource {
        Some(Resource::Person(p)) => (
            "person",
            to_json(&columns::persons(), p),
            p.id.clone(),
            format!("{} {} {}", p.family_name, p.given_name, p.patronymic),
        ),
        Some(Resource::Exchange(x)) => (
            "exchange",
            to_json(&columns::exchanges(), x),
            x.id.clone(),
            x.title.clone(),
        ),
        Some(Resource::Category(c)) => (
            "category",
            to_json(&columns::categories(), c),
            c.id.clone(),
            c.code.clone(),
        ),
        Some(Resource::PersonEvent(ev)) => (
            "event",
            to_json(&columns::events(), ev),
            ev.id.clone(),
            format!("{} {}", columns::EVENT_TYPE.cell(ev.r#type), ev.person_id),
        ),
        None => ("?", Json::Null, String::new(), String::new()),
    };
    match out {
        OutputKind::Json => json!({
            "revision": e.revision,
            "type": kind,
            "time": time_cell(&e.time),
            "resource_type": what,
            "resource": json,
        })
        .to_string(),
        OutputKind::Table => format!(
            "{:>8}  {}  {:<8} {:<9} {id}  {}",
            e.revision,
            time_cell(&e.time),
            kind,
            what,
            about.trim()
        ),
    }
}

pub async fn watch(client: &Client, a: WatchArgs) -> anyhow::Result<()> {
    let mut b = client
        .watch()
        .filter(a.filter.clone())
        .progress_notify(true);
    if !a.types.is_empty() {
        b = b.types(a.types.iter().map(|t| resource_type(*t)));
    }
    if let Some(r) = a.start_revision {
        b = b.start_revision(r);
    }
    let stream = b.stream();
    pin_mut!(stream);
    if a.output == OutputKind::Table {
        eprintln!("watching (resume later with --start-revision <the last revision printed>)");
    }
    while let Some(ev) = stream.try_next().await? {
        match ev {
            WatchEvent::Events(batch) => {
                for e in &batch.events {
                    println!("{}", event_line(e, a.output));
                }
            }
            WatchEvent::Progress(_) | WatchEvent::InitialStateDone(_) => {}
        }
    }
    Ok(())
}

fn counts(v: &[proto::KeyCount]) -> String {
    v.iter()
        .map(|k| format!("{} {}", k.key, k.count))
        .collect::<Vec<_>>()
        .join(", ")
}

fn counts_json(v: &[proto::KeyCount]) -> Json {
    Json::Object(v.iter().map(|k| (k.key.clone(), json!(k.count))).collect())
}

fn share(s: &Option<proto::ShareCount>) -> String {
    s.as_ref()
        .map(|s| format!("{} ({:.0}%)", s.count, s.share * 100.0))
        .unwrap_or_default()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
}

/// The person figures as rows of a two-column table, in the order the article tells them.
fn figure_rows(f: &proto::PersonFigures) -> Vec<(&'static str, String)> {
    vec![
        ("persons", f.persons.to_string()),
        ("by kind", counts(&f.by_kind)),
        ("by service", counts(&f.by_service)),
        ("by rank group", counts(&f.by_rank_group)),
        ("by sex", counts(&f.by_sex)),
        ("by status", counts(&f.by_status)),
        ("by category", counts(&f.by_category)),
        ("by capture region", counts(&f.by_capture_region)),
        ("by capture year", counts(&f.by_capture_year)),
        (
            "convicted in captivity",
            f.convicted_in_captivity.to_string(),
        ),
        (
            "youngest / oldest at return",
            format!("{} / {}", opt(f.youngest_age), opt(f.oldest_age)),
        ),
        (
            "days in captivity min / median / max",
            format!(
                "{} / {} / {}",
                opt(f.days_in_captivity_min),
                opt(f.days_in_captivity_median.map(|m| format!("{m:.0}"))),
                opt(f.days_in_captivity_max)
            ),
        ),
        (
            "held over 1 / 2 / 3 years",
            format!(
                "{} / {} / {}",
                share(&f.held_over_1_year),
                share(&f.held_over_2_years),
                share(&f.held_over_3_years)
            ),
        ),
        ("captured in 2022", share(&f.captured_in_2022)),
        (
            "hospitalised in captivity",
            f.hospitalised_in_captivity.to_string(),
        ),
        ("families informed", f.families_informed.to_string()),
        ("medical examination", counts(&f.medical_examination)),
        ("rehabilitation", counts(&f.rehabilitation)),
        ("payments", counts(&f.payments)),
    ]
}

fn figures_json(f: &proto::PersonFigures) -> Json {
    let sh = |s: &Option<proto::ShareCount>| {
        s.as_ref()
            .map_or(Json::Null, |s| json!({"count": s.count, "share": s.share}))
    };
    json!({
        "persons": f.persons,
        "by_kind": counts_json(&f.by_kind),
        "by_service": counts_json(&f.by_service),
        "by_rank_group": counts_json(&f.by_rank_group),
        "by_sex": counts_json(&f.by_sex),
        "by_status": counts_json(&f.by_status),
        "by_category": counts_json(&f.by_category),
        "by_capture_region": counts_json(&f.by_capture_region),
        "by_capture_year": counts_json(&f.by_capture_year),
        "convicted_in_captivity": f.convicted_in_captivity,
        "youngest_age": f.youngest_age,
        "oldest_age": f.oldest_age,
        "age_unknown": f.age_unknown,
        "days_in_captivity_min": f.days_in_captivity_min,
        "days_in_captivity_median": f.days_in_captivity_median,
        "days_in_captivity_max": f.days_in_captivity_max,
        "capture_date_unknown": f.capture_date_unknown,
        "held_over_1_year": sh(&f.held_over_1_year),
        "held_over_2_years": sh(&f.held_over_2_years),
        "held_over_3_years": sh(&f.held_over_3_years),
        "captured_in_2022": sh(&f.captured_in_2022),
        "hospitalised_in_captivity": f.hospitalised_in_captivity,
        "families_informed": f.families_informed,
        "medical_examination": counts_json(&f.medical_examination),
        "rehabilitation": counts_json(&f.rehabilitation),
        "payments": counts_json(&f.payments),
    })
}

fn two_columns(rows: Vec<(&str, String)>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    for (k, v) in rows {
        t.add_row(vec![k.to_owned(), v]);
    }
    t
}

pub async fn summary(client: &Client, id: &str, out: OutputKind) -> anyhow::Result<()> {
    let s = client.exchanges().summary(id).await?;
    let f = s.persons.clone().unwrap_or_default();
    match out {
        OutputKind::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "exchange_id": s.exchange_id,
                "title": s.title,
                "exchange_date": date_cell(&s.exchange_date),
                "revision": s.revision,
                "announced_returned_count": s.announced_returned_count,
                "announced_handed_over_count": s.announced_handed_over_count,
                "persons": figures_json(&f),
            }))?
        ),
        OutputKind::Table => {
            println!(
                "{} — {} (revision {})",
                s.title,
                date_cell(&s.exchange_date),
                s.revision
            );
            let mut rows = vec![
                ("announced returned", opt(s.announced_returned_count)),
                ("announced handed over", opt(s.announced_handed_over_count)),
            ];
            rows.extend(figure_rows(&f));
            println!("{}", two_columns(rows));
        }
    }
    Ok(())
}

pub async fn statistics(
    client: &Client,
    from: Option<&str>,
    to: Option<&str>,
    out: OutputKind,
) -> anyhow::Result<()> {
    let day = |s: Option<&str>, flag: &str| -> Result<_, Usage> {
        match s {
            None => Ok(None),
            Some(s) => parse_date(s).map_err(|e| Usage(format!("{flag}: {e}"))),
        }
    };
    let s = client
        .statistics(day(from, "--from")?, day(to, "--to")?)
        .await?;
    let f = s.persons.clone().unwrap_or_default();
    match out {
        OutputKind::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "revision": s.revision,
                "exchanges": s.exchanges,
                "announced_returned": s.announced_returned,
                "by_year": s.by_year.iter().map(|y| json!({"year": y.year, "exchanges": y.exchanges, "announced_returned": y.announced_returned, "persons": y.persons_linked})).collect::<Vec<_>>(),
                "persons": figures_json(&f),
            }))?
        ),
        OutputKind::Table => {
            let mut years = Table::new();
            years.load_preset(UTF8_BORDERS_ONLY);
            years.set_header(vec!["year", "exchanges", "announced returned", "persons"]);
            for y in &s.by_year {
                years.add_row(vec![
                    y.year.to_string(),
                    y.exchanges.to_string(),
                    y.announced_returned.to_string(),
                    y.persons_linked.to_string(),
                ]);
            }
            println!(
                "{} exchanges, {} announced returned (revision {})",
                s.exchanges, s.announced_returned, s.revision
            );
            println!("{years}");
            println!("{}", two_columns(figure_rows(&f)));
        }
    }
    Ok(())
}
