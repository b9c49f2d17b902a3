//! What a run measured, as a table (the BENCHMARKS.md rows) and as JSON, and whether it lost
//! anything (the smoke test's only check).

use serde::Serialize;

use crate::{ceilings::Ceilings, load::Stats};

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub backend: String,
    pub persons: usize,
    pub ceilings: Ceilings,
    pub s0_health: Stats,
    pub s1_get_person: Stats,
    /// S1z: GetPerson with a Zipf-skewed choice (s = 1), the most recently imported first.
    pub s1z_get_person_zipf: Stats,
    pub s2_create_c1: Stats,
    pub s2_create_c32: Stats,
    pub s3_import_persons_per_second: f64,
    pub s3_seconds: f64,
    pub s4_page_1: Stats,
    pub s4_page_deep: Stats,
    pub s4_deep_page_number: usize,
    /// S4o: the S4 filter under every sortable ordering, page 1 and the deep page.
    pub s4_orderings: Vec<OrderingStats>,
    pub s6_exchange_summary: Stats,
    /// Events seeded into the dataset for S7 (about five a person).
    pub events: usize,
    pub s7_list_person_events: Stats,
    pub s8_get_person_history: Stats,
    /// Duplicate candidates found by the writes before S11.
    pub candidates: u64,
    /// ListDuplicateCandidates: the registry's first page, and one person's candidates.
    pub s11_candidates_registry: Stats,
    pub s11_candidates_person: Stats,
    /// `homecoming import persons` of a 100,000-row CSV roster (fewer with `--quick`).
    pub s9_cli_import: crate::cli::CliRun,
    /// S9's rows/s over S3's persons/s.
    pub s9_ratio_to_s3: f64,
    /// `homecoming export persons` of everyone, CSV.
    pub s10_cli_export: crate::cli::CliRun,
    pub s5: WatchReport,
    pub server_cpu_seconds: Vec<(String, f64)>,
    pub server_rss_mib_after_import: f64,
    pub server_peak_rss_mib: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct OrderingStats {
    pub order_by: String,
    pub page_1: Stats,
    pub page_deep: Stats,
}

#[derive(Debug, Default, Serialize)]
pub struct WatchReport {
    pub watchers: usize,
    pub writes: usize,
    pub delivered: u64,
    pub missed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub server_rss_mib: f64,
}

/// What the smoke test checks: every scenario ran and nothing was lost.
pub fn lost_anything(report: &Report) -> bool {
    report.s5.missed > 0
        || report.s0_health.errors + report.s1_get_person.errors > 0
        || report.s2_create_c1.errors + report.s2_create_c32.errors > 0
        || report.s4_page_1.errors + report.s4_page_deep.errors > 0
        || report
            .s4_orderings
            .iter()
            .any(|o| o.page_1.errors + o.page_deep.errors > 0 || o.page_deep.calls == 0)
        || report.s1z_get_person_zipf.errors > 0
        || report.s6_exchange_summary.errors > 0
        || report.s7_list_person_events.errors + report.s8_get_person_history.errors > 0
        || report.s11_candidates_registry.errors + report.s11_candidates_person.errors > 0
        || report.s9_cli_import.rows == 0
        || report.s10_cli_export.rows == 0
        || [
            &report.s0_health,
            &report.s1_get_person,
            &report.s1z_get_person_zipf,
            &report.s2_create_c1,
            &report.s4_page_deep,
            &report.s6_exchange_summary,
            &report.s7_list_person_events,
            &report.s8_get_person_history,
            &report.s11_candidates_registry,
            &report.s11_candidates_person,
        ]
        .iter()
        .any(|s| s.calls == 0)
}

pub fn print_table(r: &Report) {
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    println!("\n| {} | figure | ceiling | ratio |", r.backend);
    println!("|---|---|---|---|");
    println!(
        "| S0 Health/Check | {:.0}/s, p99 {:.2} ms | (the RPC framework) | 1.00 |",
        r.s0_health.per_second, r.s0_health.p99_ms
    );
    println!(
        "| S1 GetPerson ({} persons) | {:.0}/s, p99 {:.2} ms | S0 {:.0}/s; raw PK reads {:.0}/s | {:.2} of S0; {:.2} of raw |",
        r.persons,
        r.s1_get_person.per_second,
        r.s1_get_person.p99_ms,
        r.s0_health.per_second,
        r.ceilings.pk_reads_per_second,
        ratio(r.s1_get_person.per_second, r.s0_health.per_second),
        ratio(r.s1_get_person.per_second, r.ceilings.pk_reads_per_second)
    );
    println!(
        "| S1z GetPerson, Zipf (s = 1) over the newest first | {:.0}/s, p99 {:.2} ms | S0 {:.0}/s; S1 {:.0}/s | {:.2} of S0; {:.2} of S1 |",
        r.s1z_get_person_zipf.per_second,
        r.s1z_get_person_zipf.p99_ms,
        r.s0_health.per_second,
        r.s1_get_person.per_second,
        ratio(r.s1z_get_person_zipf.per_second, r.s0_health.per_second),
        ratio(r.s1z_get_person_zipf.per_second, r.s1_get_person.per_second)
    );
    println!(
        "| S2 CreatePerson c=1 | {:.0}/s, p99 {:.2} ms | raw commits {:.0}/s | {:.2} |",
        r.s2_create_c1.per_second,
        r.s2_create_c1.p99_ms,
        r.ceilings.commits_per_second,
        ratio(r.s2_create_c1.per_second, r.ceilings.commits_per_second)
    );
    println!(
        "| S2 CreatePerson c=32 | {:.0}/s, p99 {:.2} ms | raw commits {:.0}/s | {:.2} |",
        r.s2_create_c32.per_second,
        r.s2_create_c32.p99_ms,
        r.ceilings.commits_per_second,
        ratio(r.s2_create_c32.per_second, r.ceilings.commits_per_second)
    );
    println!(
        "| S3 import {} persons | {:.0} persons/s ({:.1} s) | raw batched inserts {:.0} rows/s; person rows into the registry schema {:.0}/s | {:.3} of raw; {:.2} of schema |",
        r.persons,
        r.s3_import_persons_per_second,
        r.s3_seconds,
        r.ceilings.batched_rows_per_second,
        r.ceilings.schema_rows_per_second,
        ratio(
            r.s3_import_persons_per_second,
            r.ceilings.batched_rows_per_second
        ),
        ratio(
            r.s3_import_persons_per_second,
            r.ceilings.schema_rows_per_second
        )
    );
    println!(
        "| S4 ListPersons page 1 / page {} | p99 {:.2} / {:.2} ms, {:.0} / {:.0} per s | page 1 | {:.2} (p99 deep / first) |",
        r.s4_deep_page_number,
        r.s4_page_1.p99_ms,
        r.s4_page_deep.p99_ms,
        r.s4_page_1.per_second,
        r.s4_page_deep.per_second,
        ratio(r.s4_page_deep.p99_ms, r.s4_page_1.p99_ms)
    );
    for o in &r.s4_orderings {
        println!(
            "| S4o `{}`: page 1 / page {} | p99 {:.2} / {:.2} ms, {:.0} / {:.0} per s | page 1 | {:.2} (p99 deep / first) |",
            o.order_by,
            r.s4_deep_page_number,
            o.page_1.p99_ms,
            o.page_deep.p99_ms,
            o.page_1.per_second,
            o.page_deep.per_second,
            ratio(o.page_deep.p99_ms, o.page_1.p99_ms)
        );
    }
    println!(
        "| S6 GetExchangeSummary (50-400 persons) | {:.0}/s, p99 {:.2} ms | S0 {:.0}/s | {:.2} of S0 |",
        r.s6_exchange_summary.per_second,
        r.s6_exchange_summary.p99_ms,
        r.s0_health.per_second,
        ratio(r.s6_exchange_summary.per_second, r.s0_health.per_second)
    );
    println!(
        "| S7 ListPersonEvents, one person's timeline ({} events seeded) | {:.0}/s, p99 {:.2} ms | S0 {:.0}/s | {:.2} of S0 |",
        r.events,
        r.s7_list_person_events.per_second,
        r.s7_list_person_events.p99_ms,
        r.s0_health.per_second,
        ratio(r.s7_list_person_events.per_second, r.s0_health.per_second)
    );
    println!(
        "| S8 GetPersonHistory | {:.0}/s, p99 {:.2} ms | S0 {:.0}/s | {:.2} of S0 |",
        r.s8_get_person_history.per_second,
        r.s8_get_person_history.p99_ms,
        r.s0_health.per_second,
        ratio(r.s8_get_person_history.per_second, r.s0_health.per_second)
    );
    println!(
        "| S11 ListDuplicateCandidates ({} candidates): registry page / one person | {:.0}/s, p99 {:.2} ms / {:.0}/s, p99 {:.2} ms | S1 {:.0}/s | {:.2} / {:.2} of S1 |",
        r.candidates,
        r.s11_candidates_registry.per_second,
        r.s11_candidates_registry.p99_ms,
        r.s11_candidates_person.per_second,
        r.s11_candidates_person.p99_ms,
        r.s1_get_person.per_second,
        ratio(
            r.s11_candidates_registry.per_second,
            r.s1_get_person.per_second
        ),
        ratio(
            r.s11_candidates_person.per_second,
            r.s1_get_person.per_second
        )
    );
    println!(
        "| S9 `homecoming import persons`, {}-row CSV | {:.0} rows/s ({:.1} s), CLI peak RSS {:.0} MiB | S3 {:.0} persons/s | {:.2} of S3 (target 0.8) |",
        r.s9_cli_import.rows,
        r.s9_cli_import.rows_per_second,
        r.s9_cli_import.seconds,
        r.s9_cli_import.peak_rss_mib,
        r.s3_import_persons_per_second,
        r.s9_ratio_to_s3
    );
    println!(
        "| S10 `homecoming export persons`, CSV | {} rows at {:.0} rows/s ({:.1} s), CLI peak RSS {:.0} MiB | S4 pages | |",
        r.s10_cli_export.rows,
        r.s10_cli_export.rows_per_second,
        r.s10_cli_export.seconds,
        r.s10_cli_export.peak_rss_mib
    );
    println!(
        "| S5 watch fan-out {} watchers, {} writes at 100/s | p50 {:.2} ms, p99 {:.2} ms, missed {} | 100 ms p99 target | {:.2} |",
        r.s5.watchers,
        r.s5.writes,
        r.s5.p50_ms,
        r.s5.p99_ms,
        r.s5.missed,
        ratio(r.s5.p99_ms, 100.0)
    );
    println!(
        "| server memory | RSS {:.0} MiB after import, {:.0} MiB with watchers, peak {:.0} MiB | 300 MiB target | {:.2} |",
        r.server_rss_mib_after_import,
        r.s5.server_rss_mib,
        r.server_peak_rss_mib,
        ratio(r.server_peak_rss_mib, 300.0)
    );
    println!(
        "| server CPU seconds per scenario | {} | | |\n",
        r.server_cpu_seconds
            .iter()
            .map(|(n, s)| format!("{n} {s:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
