//! `homecoming-server`: read the configuration, set up tracing, build, serve until SIGINT or
//! SIGTERM.

use clap::Parser;
use homecoming_server::{
    App,
    app::open_store,
    config::{Command, Config},
    telemetry,
};

/// mimalloc instead of glibc's malloc: the profiles (BENCHMARKS.md) showed glibc's
/// `malloc_consolidate`/`unlink_chunk` at ~15% of a GetPerson's CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    telemetry::init(config.log_format);
    match config.command {
        Some(Command::Migrate) => {
            let store = open_store(&config).await?;
            tracing::info!("migrations applied");
            store.close().await;
            Ok(())
        }
        Some(Command::DemoData) => {
            let store = open_store(&config).await?;
            let loaded = homecoming_server::demo::load(&store).await?;
            tracing::info!(
                exchange_id = %loaded.exchange_id,
                persons = loaded.persons,
                "demo data loaded"
            );
            println!("{}", loaded.exchange_id);
            store.close().await;
            Ok(())
        }
        Some(Command::Token(ref command)) => {
            homecoming_server::app::token_command(&config, command).await
        }
        Some(Command::Serve) | None => {
            let app = App::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
