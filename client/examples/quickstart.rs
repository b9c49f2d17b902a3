//! Creates a category, an exchange and a person, then lists persons of the exchange.
//!
//! Start a server (`cargo run --release -p homecoming-server`), then, with a token with the
//! editor role or more (the first start wrote an admin token to `homecoming.db.admin-token`):
//! `HOMECOMING_TOKEN=$(cat homecoming.db.admin-token) cargo run -p homecoming-client --example quickstart`

use futures::TryStreamExt;
use homecoming_client::{Client, Error, ListQuery, date, filter::field, proto};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let url = std::env::var("HOMECOMING_URL").unwrap_or_else(|_| "http://127.0.0.1:50051".into());
    let token = std::env::var("HOMECOMING_TOKEN").unwrap_or_default();
    let client = Client::builder(url).bearer_token(token).connect().await?;

    let code = format!("example-{}", std::process::id());
    client
        .categories()
        .create(proto::Category {
            code: code.clone(),
            title: "Example category".into(),
            kind: proto::CategoryKind::Priority as i32,
            ..Default::default()
        })
        .await?;

    let exchange = client
        .exchanges()
        .create(proto::Exchange {
            title: "Example exchange, stage 1".into(),
            exchange_date: Some(date(2025, 7, 4)),
            status: proto::ExchangeStatus::Completed as i32,
            category_codes: vec![code.clone()],
            ..Default::default()
        })
        .await?;

    // Synthetic person: never put a real person's data in examples.
    let person = client
        .persons()
        .create(proto::Person {
            kind: proto::PersonKind::Military as i32,
            family_name: "Прикладенко".into(),
            given_name: "Тарас".into(),
            date_of_birth: Some(date(2001, 5, 17)),
            capture_date: Some(date(2022, 5, 20)),
            status: proto::PersonStatus::Returned as i32,
            exchange_id: exchange.id.clone(),
            category_codes: vec![code.clone()],
            ..Default::default()
        })
        .await?;
    println!(
        "created person {} (age at return {:?}, {:?} days in captivity)",
        person.id, person.age_at_return, person.days_in_captivity
    );

    let filter = field("exchange_id").eq(&exchange.id) & field("category_codes").has(code.as_str());
    let persons: Vec<proto::Person> = client
        .persons()
        .list(ListQuery::new().filter(filter).order_by("family_name"))
        .try_collect()
        .await?;
    for p in persons {
        println!(
            "{} {} returned in {}",
            p.family_name, p.given_name, exchange.title
        );
    }

    // Errors name the bad fields.
    match client.persons().create(proto::Person::default()).await {
        Err(e) => {
            for v in e.field_violations() {
                println!("rejected as expected: {v}");
            }
        }
        Ok(_) => println!("unexpectedly accepted an empty person"),
    }
    Ok(())
}
