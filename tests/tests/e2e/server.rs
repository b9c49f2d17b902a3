use homecoming_tests::{Backend, backend_tests, spawn_app};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

backend_tests!(
    health_reports_serving_and_shutdown_is_graceful,
    planner_statistics_follow_the_rows,
    wal_is_checkpointed_in_the_background,
    maintenance_commands_refuse_a_database_that_does_not_exist,
    a_backup_under_write_load_restores_every_acknowledged_write,
);

/// `homecoming-server backup FILE` while a writer keeps writing: every person acknowledged
/// before the backup began is in the copy, which opens as a registry of its own. The database,
/// its WAL and shared-memory files and the copy are readable by their owner only. PostgreSQL:
/// refused, pointing at pg_dump.
async fn a_backup_under_write_load_restores_every_acknowledged_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let backup = || {
        let config = homecoming_server::Config::from_args([
            "homecoming-server",
            "backup",
            copy.to_str().unwrap(),
            "--database-url",
            app.database_url.as_str(),
        ])
        .unwrap();
        async move {
            let cmd = config.command.clone().unwrap();
            homecoming_server::commands::run(&config, &cmd).await
        }
    };
    if backend == Backend::Postgres {
        let err = backup()
            .await
            .expect_err("PostgreSQL is backed up with pg_dump");
        assert!(format!("{err:#}").contains("pg_dump"), "{err:#}");
        return;
    }
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (client, acknowledged, stop) = (app.client.clone(), acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let p = homecoming_tests::fixtures::person(&format!("Копія{i}"), "Іван");
                if let Ok(p) = client.persons().create(p).await {
                    acknowledged.lock().unwrap().push(p.id);
                }
                i += 1;
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before: Vec<String> = acknowledged.lock().unwrap().clone();
    backup().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.await.unwrap();
    assert!(
        before.len() > 5,
        "the writer wrote before the backup ({})",
        before.len()
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let db = homecoming_server::store::sqlite_file(&app.database_url)
            .unwrap()
            .to_owned();
        let journal = homecoming_server::store::journal_file(&db);
        for f in [
            db.clone(),
            format!("{db}-wal"),
            format!("{db}-shm"),
            journal.clone(),
            format!("{journal}-wal"),
        ] {
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy");
    }
    // Refuses to overwrite.
    assert!(backup().await.is_err());

    let restored = homecoming_server::store::Store::open(
        &format!("sqlite://{}?mode=rwc", copy.display()),
        &homecoming_server::store::StoreOptions::default(),
    )
    .await
    .unwrap();
    for id in &before {
        restored.get_person(id).await.unwrap();
    }
    restored.close().await;
}

/// `token`, `migrate` and `demo-data` open the database the flags name, never create it: a
/// mistyped `--database-url` fails naming what was looked for, and leaves nothing behind. The
/// flags may follow the subcommand.
async fn maintenance_commands_refuse_a_database_that_does_not_exist(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("typo.db").display()),
        Backend::Postgres => {
            let (prefix, _) = app.database_url.rsplit_once('/').unwrap();
            format!("{prefix}/homecoming_no_such_database")
        }
    };
    for command in [&["token", "list"][..], &["migrate"], &["demo-data"]] {
        let mut args = vec!["homecoming-server"];
        args.extend_from_slice(command);
        args.extend(["--database-url", missing.as_str()]);
        let config = homecoming_server::Config::from_args(&args).unwrap();
        let cmd = config.command.clone().unwrap();
        let err = homecoming_server::commands::run(&config, &cmd)
            .await
            .expect_err("a missing database is refused");
        let shown = format!("{err:#}");
        match backend {
            Backend::Sqlite => assert!(
                shown.contains("typo.db") && shown.contains("only opens an existing"),
                "{shown}"
            ),
            Backend::Postgres => assert!(shown.contains("homecoming_no_such_database"), "{shown}"),
        }
    }
    assert!(!dir.path().join("typo.db").exists(), "nothing was created");
    // The real database is opened as before, the flag after the subcommand.
    let config = homecoming_server::Config::from_args([
        "homecoming-server",
        "migrate",
        "--database-url",
        app.database_url.as_str(),
    ])
    .unwrap();
    let cmd = config.command.clone().unwrap();
    homecoming_server::commands::run(&config, &cmd)
        .await
        .unwrap();
}

/// SQLite: the server copies committed WAL frames into the database file itself, a few times a
/// second (commits no longer do it below 16,384 pages, so a small write stays in the WAL until
/// the checkpointer runs). Seen through a connection that reads the database file alone
/// (`immutable`: the WAL is ignored). PostgreSQL: `checkpoint` is nothing to do.
async fn wal_is_checkpointed_in_the_background(backend: Backend) {
    let app = spawn_app(backend).await;
    let batch: Vec<homecoming_client::proto::Person> = (0..300)
        .map(|i| homecoming_tests::fixtures::person(&format!("Ckpt{i:03}"), "Ivan"))
        .collect();
    app.client.persons().batch_create(batch).await.unwrap();
    if backend == Backend::Postgres {
        let store = homecoming_server::store::Store::open(
            &app.database_url,
            &homecoming_server::store::StoreOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(store.checkpoint().await.unwrap(), None);
        store.close().await;
        return;
    }
    let url: sea_orm::sqlx::sqlite::SqliteConnectOptions = app.database_url.parse().unwrap();
    let file_only = url.immutable(true).read_only(true);
    let mut in_file = 0;
    for _ in 0..50 {
        use sea_orm::sqlx::{ConnectOptions, Connection};
        let mut conn = file_only.connect().await.unwrap();
        // Before the first checkpoint the file may not even hold the schema yet.
        in_file = sea_orm::sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM persons WHERE family_name LIKE 'Ckpt%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap_or(0);
        conn.close().await.unwrap();
        if in_file == 300 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(in_file, 300, "persons in the database file (not the WAL)");
}

/// PostgreSQL: tables whose rows outgrew their statistics are analyzed (the server does it every
/// 30 s; here it is called directly); fresh ones are left alone. SQLite: nothing to do.
async fn planner_statistics_follow_the_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    let batch: Vec<homecoming_client::proto::Person> = (0..300)
        .map(|i| homecoming_client::proto::Person {
            kind: homecoming_client::proto::PersonKind::Civilian as i32,
            family_name: format!("Stat{i:03}"),
            given_name: "Ivan".into(),
            ..Default::default()
        })
        .collect();
    app.client.persons().batch_create(batch).await.unwrap();
    let store = homecoming_server::store::Store::open(
        &app.database_url,
        &homecoming_server::store::StoreOptions::default(),
    )
    .await
    .unwrap();
    if backend == Backend::Sqlite {
        assert!(store.refresh_statistics().await.unwrap().is_empty());
        return;
    }
    // Row counts reach pg_stat_user_tables within a second or so of the writing transaction.
    let mut analyzed = Vec::new();
    for _ in 0..40 {
        analyzed = store.refresh_statistics().await.unwrap();
        if analyzed.iter().any(|t| t == "persons") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(analyzed.iter().any(|t| t == "persons"), "{analyzed:?}");
    let again = store.refresh_statistics().await.unwrap();
    assert!(!again.iter().any(|t| t == "persons"), "{again:?}");
    store.close().await;
}

async fn health_reports_serving_and_shutdown_is_graceful(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let mut health = HealthClient::new(app.client.channel());
    for service in [
        "",
        "homecoming.v1.PersonService",
        "homecoming.v1.CategoryService",
    ] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{service:?}");
    }
    // Calls in flight when the server is told to stop still complete.
    let client = app.client.clone();
    let in_flight = tokio::spawn(async move {
        let batch = (0..1000)
            .map(|i| homecoming_tests::fixtures::person(&format!("Late{i}"), "Ivan"))
            .collect();
        client.persons().batch_create(batch).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.stop().await;
    let finished = in_flight.await.unwrap();
    // Either it completed, or it had not reached the server before shutdown and was refused;
    // it is never cut off half-written.
    if let Ok(created) = &finished {
        assert_eq!(created.len(), 1000);
    }
    let app = app.restart().await;
    let n = app
        .client
        .persons()
        .list_page(&homecoming_client::ListQuery::new().page_size(1000), "")
        .await
        .unwrap()
        .items
        .len();
    assert!(n == 0 || n == 1000, "all or nothing, got {n}");
    assert_eq!(n == 1000, finished.is_ok());
}
