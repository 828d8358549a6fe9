//! Starting and stopping Switchboard: configuration, telemetry, migrations, the demo
//! workspace, and the HTTP server with a graceful shutdown on SIGTERM / Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

pub use domain;

pub mod webhook_worker;

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: String,
    pub database_url: String,
    pub demo: bool,
    /// The first webhook retry waits this long; each next one twice as long.
    pub webhook_retry_base: Duration,
    /// Requests a minute per operator token; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
}

impl Settings {
    pub fn new(bind: impl Into<String>, database_url: impl Into<String>) -> Self {
        Settings {
            bind: bind.into(),
            database_url: database_url.into(),
            demo: false,
            webhook_retry_base: Duration::from_secs(1),
            rate_limit_per_minute: 180,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the tracing subscriber (`RUST_LOG` filters; default `info`).
pub fn init_telemetry(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Connects and brings the schema up to date.
pub async fn open_database(url: &str) -> anyhow::Result<DatabaseConnection> {
    let db = domain::db::connect(url)
        .await
        .with_context(|| format!("cannot open the database at {url}"))?;
    migration::Migrator::up(&db, None)
        .await
        .context("cannot migrate the database")?;
    Ok(db)
}

/// A bound, migrated, ready-to-run server.
pub struct Application {
    acceptor: poem::listener::TcpAcceptor,
    db: DatabaseConnection,
    address: SocketAddr,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = open_database(&settings.database_url).await?;
        if settings.demo {
            let (workspace_id, token) = domain::demo::ensure(&db)
                .await
                .context("cannot create the demo workspace")?;
            tracing::info!(workspace_id, "demo workspace ready; operator token: {token}");
        }
        let acceptor = TcpListener::bind(settings.bind.clone())
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("the listener has no address")?;
        if settings.demo {
            tracing::info!("Swagger UI: http://{address}/docs (Authorize with the token above)");
        }
        Ok(Application {
            acceptor,
            db,
            address,
            settings: settings.clone(),
        })
    }

    /// The address the server listens on (useful with port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn database(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Serves until SIGTERM or Ctrl-C, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then drains in-flight requests.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        tracing::info!(address = %self.address, "switchboard listening");
        let bus = api::events::EventBus::default();
        let (stop_tasks, tasks_stopped) = tokio::sync::watch::channel(false);
        let mut tasks = vec![tokio::spawn(webhook_worker::run(
            self.db.clone(),
            bus.clone(),
            self.settings.webhook_retry_base,
            tasks_stopped.clone(),
        ))];
        if self.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            tasks.push(tokio::spawn(webhook_worker::listen_for_events(
                self.settings.database_url.clone(),
                bus.clone(),
                tasks_stopped,
            )));
        }
        let ingest = domain::ingest::Ingestor::start(self.db.clone());
        let rate_limiter = (self.settings.rate_limit_per_minute > 0)
            .then(|| std::sync::Arc::new(api::rate_limit::RateLimiter::new(self.settings.rate_limit_per_minute)));
        let app = api::app(api::AppState {
            db: self.db.clone(),
            bus: bus.clone(),
            ingest,
            rate_limiter,
        });
        let closing = bus.clone();
        let stop = async move {
            stop.await;
            closing.close();
        };
        let served = poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, stop, Some(DRAIN_TIMEOUT))
            .await;
        let _ = stop_tasks.send(true);
        for task in tasks {
            let _ = task.await;
        }
        served?;
        domain::db::close(self.db).await;
        tracing::info!("switchboard stopped");
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}
