//! The server's subcommands besides `serve`: `migrate`, `demo-data` and `token`, each straight
//! on the database the configuration names.

use crate::{
    app::open_store,
    config::{Command, Config, TokenCommand, sqlite_file},
    demo,
    domain::{Role, WireEnum, access::NewToken},
    store::ListQuery,
};

/// Refuses to go on when the database the configuration names does not exist: only `serve`
/// creates one, so that a mistyped `--database-url` cannot leave an empty registry behind (with
/// a token in it that nothing serves).
fn check_exists(config: &Config) -> anyhow::Result<()> {
    if let Some(file) = sqlite_file(&config.database_url)
        && !std::path::Path::new(file).exists()
    {
        anyhow::bail!(
            "no database file {file:?} (from --database-url / HOMECOMING_DATABASE_URL, relative \
             to {}); `homecoming-server serve` creates it, this command only opens an existing one",
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Opens the existing database (see `check_exists`); a PostgreSQL database that does not exist
/// is named in the error.
async fn open_existing(config: &Config) -> anyhow::Result<crate::store::Store> {
    check_exists(config)?;
    open_store(config).await.map_err(|e| {
        let url = &config.database_url;
        let shown = url.split('@').next_back().unwrap_or(url);
        if format!("{e:#}").contains("does not exist") {
            anyhow::anyhow!("no database at {shown} ({e:#}); create it, then `homecoming-server serve` or `migrate`")
        } else {
            e
        }
    })
}

/// Runs a subcommand other than `serve`.
pub async fn run(config: &Config, command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Migrate => {
            let store = open_existing(config).await?;
            tracing::info!("migrations applied");
            store.close().await;
            Ok(())
        }
        Command::DemoData => {
            let store = open_existing(config).await?;
            let loaded = demo::load(&store).await;
            store.close().await;
            let loaded = loaded?;
            tracing::info!(
                exchange_id = %loaded.exchange_id,
                persons = loaded.persons,
                events = loaded.events,
                "demo data loaded"
            );
            println!("{}", loaded.exchange_id);
            Ok(())
        }
        Command::Backup { file } => {
            let store = open_existing(config).await?;
            let done = store.backup_to(file).await;
            store.close().await;
            done?;
            eprintln!("backed up to {}", file.display());
            Ok(())
        }
        Command::Token(command) => token(config, command).await,
        Command::Serve => anyhow::bail!("`serve` is not a maintenance command"),
    }
}

/// `homecoming-server token ...`: token management straight on the database.
async fn token(config: &Config, command: &TokenCommand) -> anyhow::Result<()> {
    let store = open_existing(config).await?;
    let result = async {
        match command {
            TokenCommand::Create {
                name,
                role,
                expires_in,
            } => {
                let role = Role::parse_name(role)
                    .filter(|r| *r != Role::Unspecified)
                    .ok_or_else(|| anyhow::anyhow!("--role must be viewer, editor or admin"))?;
                let now = chrono::Utc::now();
                let expire_time = expires_in
                    .map(|d| chrono::Duration::from_std(d).map(|d| now + d))
                    .transpose()?;
                let new = NewToken {
                    name: name.clone(),
                    role,
                    expire_time,
                }
                .validate(now)?;
                let (token, secret) = store.create_token(new, "command-line").await?;
                eprintln!(
                    "created token {} ({}, role {}); its secret follows, shown this once:",
                    token.name,
                    token.id,
                    token.role.name()
                );
                println!("{secret}");
            }
            TokenCommand::List => {
                let mut q = ListQuery {
                    page_size: 1000,
                    ..Default::default()
                };
                println!(
                    "{:<38} {:<24} {:<8} {:<26} {:<26} REVOKED",
                    "ID", "NAME", "ROLE", "CREATED", "EXPIRES"
                );
                loop {
                    let page = store.list_tokens(&q).await?;
                    for t in page.items {
                        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                            t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
                        };
                        println!(
                            "{:<38} {:<24} {:<8} {:<26} {:<26} {}",
                            t.id,
                            t.name,
                            t.role.name().to_lowercase(),
                            t.create_time.to_rfc3339(),
                            when(t.expire_time),
                            when(t.revoke_time)
                        );
                    }
                    match page.next_page_token {
                        Some(next) => q.page_token = next,
                        None => break,
                    }
                }
            }
            TokenCommand::Revoke { token } => {
                let t = store.revoke_token(token).await?;
                eprintln!("revoked token {} ({})", t.name, t.id);
            }
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}
