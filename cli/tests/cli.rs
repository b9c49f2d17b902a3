//! The `homecoming` binary against a real server (SQLite and PostgreSQL), with real files:
//! messy rosters in (`;`, BOM, CRLF, `DD.MM.YYYY`, blank lines, bad dates, unknown categories,
//! duplicate ids), XLSX and JSON Lines, dry runs, the rejected-rows file, exports that import
//! back unchanged in every format, viewers' redacted exports, exit codes.

// Test code may panic: a failed set-up is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::Path, process::Output};

use futures::TryStreamExt;
use homecoming_tests::{
    Backend, TestApp, backend_tests,
    client::{ListQuery, proto},
    spawn_app,
};

backend_tests!(
    a_messy_ukrainian_locale_roster_imports_its_good_rows,
    a_dry_run_writes_nothing,
    all_or_nothing_writes_nothing_when_a_row_fails,
    exports_import_back_unchanged_in_every_format,
    xlsx_and_json_lines_rosters_import,
    viewers_exports_are_redacted,
    exit_codes_say_what_went_wrong,
    ten_thousand_rows_import_and_reimport_unchanged,
    get_list_and_summary_print_tables_and_json,
    duplicates_of_two_rosters_are_listed_and_dismissed,
);

/// Runs `homecoming` with the server's address and `token`.
async fn cli(app: &TestApp, token: &str, args: &[&str]) -> Output {
    let mut all = vec![
        "--server".to_owned(),
        format!("http://{}", app.addr),
        "--token".to_owned(),
        token.to_owned(),
    ];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_homecoming"))
            .args(&all)
            .output()
            .expect("run homecoming")
    })
    .await
    .expect("join")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The number after `word ` in the import's summary line.
fn figure(o: &Output, word: &str) -> u64 {
    let err = stderr(o);
    let line = err
        .lines()
        .rev()
        .find(|l| l.contains(" rows in "))
        .unwrap_or_else(|| panic!("no summary line in: {err}"));
    let at = line
        .find(&format!("{word} "))
        .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
    line[at + word.len() + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {word:?} in {line:?}"))
}

async fn persons(app: &TestApp) -> Vec<proto::Person> {
    app.client
        .persons()
        .list(ListQuery::new().order_by("family_name"))
        .try_collect()
        .await
        .expect("list")
}

const MESSY: &str = "\u{feff}external_id;family_name;given_name;kind;date_of_birth;category_codes;service\r\n\
1001;Вигаданенко ; Іван;MILITARY;04.07.1990;under-25;national guard\r\n\
\r\n\
1002;Тестовенко;Петро;military;31.02.1991;;ARMED_FORCES\r\n\
1003;Синтетенко;Олег;PERSON_KIND_CIVILIAN;1992-01-15;no-such-category;\r\n\
1001;Дублікат;Іван;MILITARY;01.01.1990;;\r\n\
1004;Зразкова;Марія;CIVILIAN;;under-25|over-60;\r\n";

async fn a_messy_ukrainian_locale_roster_imports_its_good_rows(backend: Backend) {
    let app = spawn_app(backend).await;
    app.categories(&["under-25", "over-60"]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.csv");
    let errors = dir.path().join("rejected.csv");
    std::fs::write(&file, MESSY).unwrap();
    let f = file.to_str().unwrap();
    let o = cli(
        &app,
        &app.admin_token,
        &[
            "import",
            "persons",
            f,
            "--system",
            "coordination-hq",
            "--errors",
            errors.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{f}:4: date_of_birth: invalid date \"31.02.1991\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{f}:5: category_codes[0]: no category with code \"no-such-category\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{f}:6: external_ids: coordination-hq/1001 is also on line 2"
        )),
        "{err}"
    );
    assert_eq!((figure(&o, "created"), figure(&o, "failed")), (2, 3));

    let stored = persons(&app).await;
    let names: Vec<&str> = stored.iter().map(|p| p.family_name.as_str()).collect();
    assert_eq!(names, ["Вигаданенко", "Зразкова"]);
    let ivan = &stored[0];
    assert_eq!(ivan.given_name, "Іван", "cells are trimmed");
    assert_eq!(
        ivan.date_of_birth,
        Some(homecoming_tests::client::date(1990, 7, 4))
    );
    assert_eq!(ivan.service, proto::ServiceBranch::NationalGuard as i32);
    assert_eq!(stored[1].category_codes, ["under-25", "over-60"]);
    assert_eq!(stored[1].kind, proto::PersonKind::Civilian as i32);

    // The rejected rows, with their reasons, in the input's delimiter: fixable and importable.
    let rejected = std::fs::read_to_string(&errors).unwrap();
    let lines: Vec<&str> = rejected.lines().collect();
    assert_eq!(lines.len(), 4, "{rejected}");
    assert!(lines[0].ends_with(";error"), "{rejected}");
    assert!(lines[1].starts_with("1002;Тестовенко"), "{rejected}");
    let fixed = rejected
        .replace("31.02.1991", "28.02.1991")
        .replace("no-such-category", "over-60")
        .replace("1001;Дублікат", "1005;Дублікат");
    std::fs::write(&errors, fixed).unwrap();
    let o = cli(
        &app,
        &app.admin_token,
        &[
            "import",
            "persons",
            errors.to_str().unwrap(),
            "--system",
            "coordination-hq",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(figure(&o, "created"), 3);

    // The same file again: nothing changes.
    let o = cli(
        &app,
        &app.admin_token,
        &[
            "import",
            "persons",
            errors.to_str().unwrap(),
            "--system",
            "coordination-hq",
        ],
    )
    .await;
    assert_eq!(
        (figure(&o, "unchanged"), figure(&o, "created")),
        (3, 0),
        "{}",
        stderr(&o)
    );
}

async fn a_dry_run_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.categories(&["under-25", "over-60"]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.csv");
    std::fs::write(&file, MESSY).unwrap();
    let o = cli(
        &app,
        &app.admin_token,
        &[
            "import",
            "persons",
            file.to_str().unwrap(),
            "--system",
            "coordination-hq",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("would be created 2"), "{}", stderr(&o));
    assert!(persons(&app).await.is_empty());
}

async fn all_or_nothing_writes_nothing_when_a_row_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    app.categories(&["under-25", "over-60"]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("roster.csv");
    std::fs::write(&file, MESSY).unwrap();
    let o = cli(
        &app,
        &app.admin_token,
        &[
            "import",
            "persons",
            file.to_str().unwrap(),
            "--system",
            "coordination-hq",
            "--all-or-nothing",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(persons(&app).await.is_empty());
}

/// A few persons with every kind of field set.
async fn seed(app: &TestApp) {
    app.categories(&["under-25"]).await;
    for i in 0..5 {
        app.client
            .persons()
            .create(proto::Person {
                external_ids: vec![proto::ExternalId {
                    system: "coordination-hq".into(),
                    id: format!("s{i}"),
                }],
                kind: proto::PersonKind::Military as i32,
                family_name: format!("Експортенко{i}"),
                given_name: "Іван".into(),
                date_of_birth: Some(homecoming_tests::client::date(1990, 1, 1 + i)),
                service_number: format!("SN-{i}"),
                category_codes: vec!["under-25".into()],
                aliases: vec![format!("Экспортенко{i}")],
                convicted_in_captivity: i % 2 == 0,
                aftercare: Some(proto::Aftercare {
                    payments: proto::CareStatus::InProgress as i32,
                    ..Default::default()
                }),
                identity_documents: vec![proto::IdentityDocument {
                    r#type: proto::IdentityDocumentType::MilitaryId as i32,
                    number: format!("AA-{i}"),
                    issuer: "Synthetic office; one".into(),
                }],
                notes: "line one\nline two, with a comma; and a semicolon".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    // One without external ids: matched by its id.
    app.person("Безномерний", "Петро").await;
}

async fn exports_import_back_unchanged_in_every_format(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let dir = tempfile::tempdir().unwrap();
    for (ext, extra) in [
        ("csv", vec![]),
        ("csv", vec!["--labels", "--delimiter", ";"]),
        ("xlsx", vec![]),
        ("jsonl", vec![]),
    ] {
        let file = dir.path().join(format!("all.{ext}"));
        let f = file.to_str().unwrap();
        let mut args = vec!["export", "persons", "-o", f];
        args.extend(extra.iter().copied());
        let o = cli(&app, &app.admin_token, &args).await;
        assert_eq!(o.status.code(), Some(0), "{ext}: {}", stderr(&o));
        assert!(stderr(&o).contains("exported 6 rows"), "{}", stderr(&o));
        let o = cli(&app, &app.admin_token, &["import", "persons", f]).await;
        assert_eq!(o.status.code(), Some(0), "{ext} {extra:?}: {}", stderr(&o));
        assert_eq!(
            figure(&o, "unchanged"),
            6,
            "{ext} {extra:?}: {}",
            stderr(&o)
        );
    }
    assert_eq!(persons(&app).await.len(), 6);
}

async fn xlsx_and_json_lines_rosters_import(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("roster.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in [
        "external_id",
        "Family name",
        "given_name",
        "kind",
        "date_of_birth",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_number(1, 0, 501.0).unwrap();
    sheet.write_string(1, 1, "Таблиценко").unwrap();
    sheet.write_string(1, 2, "Іван").unwrap();
    sheet.write_string(1, 3, "MILITARY").unwrap();
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(1990, 7, 4).unwrap();
    let format = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
    sheet
        .write_datetime_with_format(1, 4, &date, &format)
        .unwrap();
    book.save(&xlsx).unwrap();
    let o = cli(
        &app,
        &app.admin_token,
        &[
            "import",
            "persons",
            xlsx.to_str().unwrap(),
            "--system",
            "unit-list",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = app
        .client
        .persons()
        .lookup("unit-list", "501")
        .await
        .unwrap();
    assert_eq!(
        p.date_of_birth,
        Some(homecoming_tests::client::date(1990, 7, 4))
    );

    let jsonl = dir.path().join("roster.jsonl");
    std::fs::write(
        &jsonl,
        "{\"external_ids\": [\"icrc/J-1\"], \"family_name\": \"Рядковий\", \"given_name\": \"Іван\", \"kind\": \"CIVILIAN\", \"aliases\": [\"Строчный\"]}\n\n{\"family_name\": \"Зламаний\"\nnot json\n",
    )
    .unwrap();
    let o = cli(
        &app,
        &app.admin_token,
        &["import", "persons", jsonl.to_str().unwrap()],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        (figure(&o, "created"), figure(&o, "failed")),
        (1, 2),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("roster.jsonl:3: (row): (invalid JSON"),
        "{}",
        stderr(&o)
    );
    let p = app.client.persons().lookup("icrc", "J-1").await.unwrap();
    assert_eq!(p.aliases, ["Строчный"]);
}

async fn viewers_exports_are_redacted(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let viewer = app.token_for(proto::Role::Viewer).await;
    let o = cli(&app, &viewer, &["export", "persons", "--format", "jsonl"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert_eq!(r["service_number"], "", "{r}");
        assert_eq!(r["date_of_birth"], "", "{r}");
        assert_eq!(r["notes"], "", "{r}");
    }
    assert!(rows.iter().any(|r| r["family_name"] == "Експортенко0"));
    // A viewer may not import.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v.jsonl");
    std::fs::write(&file, out).unwrap();
    let o = cli(
        &app,
        &viewer,
        &["import", "persons", file.to_str().unwrap()],
    )
    .await;
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("role may not do this"),
        "{}",
        stderr(&o)
    );
}

async fn exit_codes_say_what_went_wrong(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = cli(&app, "hc_not-a-token", &["list", "persons"]).await;
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("refused the token"), "{}", stderr(&o));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.csv");
    std::fs::write(&file, "family_name,nickname\nA,B\n").unwrap();
    let o = cli(
        &app,
        &app.admin_token,
        &["import", "persons", file.to_str().unwrap()],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown column(s): nickname"),
        "{}",
        stderr(&o)
    );
    let o = cli(
        &app,
        &app.admin_token,
        &["import", "persons", "/nonexistent/roster.csv"],
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = down.local_addr().unwrap();
    drop(down);
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_homecoming"))
            .args(["--server", &format!("http://{addr}"), "list", "persons"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("does not answer"), "{}", stderr(&o));
}

fn write_rows(path: &Path, n: usize) {
    let mut s = String::from("external_id,family_name,given_name,kind,date_of_birth\n");
    for i in 0..n {
        s.push_str(&format!(
            "{i},Рядок{i},Іван,MILITARY,{:02}.{:02}.{}\n",
            1 + i % 28,
            1 + i % 12,
            1950 + i % 50
        ));
    }
    std::fs::write(path, s).unwrap();
}

async fn ten_thousand_rows_import_and_reimport_unchanged(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.csv");
    write_rows(&file, 10_000);
    let f = file.to_str().unwrap();
    let o = cli(
        &app,
        &app.admin_token,
        &["import", "persons", f, "--system", "hq"],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(figure(&o, "created"), 10_000);
    let o = cli(
        &app,
        &app.admin_token,
        &["import", "persons", f, "--system", "hq"],
    )
    .await;
    assert_eq!(figure(&o, "unchanged"), 10_000, "{}", stderr(&o));
    let page = app
        .client
        .persons()
        .list_page(&ListQuery::new().page_size(1), "")
        .await
        .unwrap();
    assert!(!page.next_page_token.is_empty());
}

async fn get_list_and_summary_print_tables_and_json(backend: Backend) {
    let app = spawn_app(backend).await;
    seed(&app).await;
    let o = cli(
        &app,
        &app.admin_token,
        &["list", "persons", "--filter", r#"name:"Експортенко""#],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.contains("Family name") && table.contains("Експортенко3"),
        "{table}"
    );
    let o = cli(
        &app,
        &app.admin_token,
        &[
            "get",
            "person",
            "--external",
            "coordination-hq/s2",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(p["family_name"], "Експортенко2");
    assert_eq!(p["category_codes"], serde_json::json!(["under-25"]));
    let x = app
        .client
        .exchanges()
        .create(homecoming_tests::fixtures::exchange("Stage", (2025, 7, 4)))
        .await
        .unwrap();
    let o = cli(&app, &app.admin_token, &["summary", &x.id]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("Stage — 2025-07-04"), "{}", stdout(&o));
    let o = cli(&app, &app.admin_token, &["statistics", "-o", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(s["exchanges"], 1);
}

/// A Ukrainian roster and a Russian one name the same man: the pair is listed (table and JSON
/// Lines) and, dismissed from the command line, gone.
async fn duplicates_of_two_rosters_are_listed_and_dismissed(backend: Backend) {
    let app = spawn_app(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let ua = dir.path().join("ua.csv");
    let ru = dir.path().join("ru.csv");
    std::fs::write(
        &ua,
        "external_id,family_name,given_name,patronymic,kind,date_of_birth,sex\n\
         u1,Вигаданенко,Микола,Петрович,MILITARY,1991-04-05,MALE\n",
    )
    .unwrap();
    std::fs::write(
        &ru,
        "external_id,family_name,given_name,patronymic,kind,date_of_birth,sex\n\
         r1,Вигаданенко,Николай,Петрович,MILITARY,1991-05-04,MALE\n",
    )
    .unwrap();
    for (file, system) in [(&ua, "ua-hq"), (&ru, "ru-list")] {
        let o = cli(
            &app,
            &app.admin_token,
            &[
                "import",
                "persons",
                file.to_str().unwrap(),
                "--system",
                system,
            ],
        )
        .await;
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = cli(&app, &app.admin_token, &["duplicates"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.contains("Вигаданенко Микола Петрович, 1991-04-05")
            && table.contains("Вигаданенко Николай Петрович, 1991-05-04")
            && table.contains("day and month swapped"),
        "{table}"
    );
    let o = cli(&app, &app.admin_token, &["duplicates", "-o", "json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (a, b) = (
        lines[0]["person_id"].as_str().unwrap().to_owned(),
        lines[0]["other_person_id"].as_str().unwrap().to_owned(),
    );
    assert!(lines[0]["score"].as_f64().unwrap() >= 0.8);
    let o = cli(&app, &app.admin_token, &["duplicates", "--min-score", "7"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = cli(
        &app,
        &app.admin_token,
        &["duplicates", "dismiss", &a, &b, "--reason", "brothers"],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = cli(&app, &app.admin_token, &["duplicates", "-o", "json"]).await;
    assert_eq!(stdout(&o).trim(), "", "{}", stdout(&o));
}
