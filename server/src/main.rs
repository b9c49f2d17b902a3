//! `homecoming-server`: read the configuration, set up tracing, build, serve until SIGINT or
//! SIGTERM.

use clap::Parser;
use homecoming_server::{
    App, commands,
    config::{Command, Config},
    telemetry,
};

/// mimalloc instead of glibc's malloc: glibc's free-list consolidation showed high in the
/// profiles of reads (BENCHMARKS.md, "Profiles").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let serving = matches!(config.command, Some(Command::Serve) | None);
    // Traces are of calls: the maintenance commands export none.
    let otlp = config.otlp_endpoint.as_deref().filter(|_| serving);
    let telemetry = telemetry::init(config.log_format, otlp)?;
    let result = match &config.command {
        Some(Command::Serve) | None => {
            let app = App::build(config).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Some(command) => commands::run(&config, command).await,
    };
    telemetry.shutdown();
    result
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
