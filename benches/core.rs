//! Criterion benchmarks of the pure core: the scanner (bytes per second over generated prose),
//! position conversion, HTML-to-text, and resolution from a warm cache.
//!
//! `cargo bench --bench core`; one group: `cargo bench --bench core -- scanner`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use synergy_ls::corpus::{self, Spec};
use synergy_ls::line_index::{Encoding, LineCol, LineIndex};
use synergy_ls::scan::{DocKind, Scanner};

const MIB: usize = 1024 * 1024;

fn scanner(c: &mut Criterion) {
    let mut g = c.benchmark_group("scanner");
    let scanner = Scanner::default();
    for (label, refs_per_kib, markdown) in
        [("sparse plain", 0.5, false), ("sparse markdown", 0.5, true), ("dense plain", 10.0, false)]
    {
        let text = corpus::text(&Spec { refs_per_kib, markdown, ..Spec::default() }, 16 * MIB);
        let kind = if markdown { DocKind::Markdown } else { DocKind::Plain };
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("scan", label), &text, |b, t| b.iter(|| scanner.scan(black_box(t), kind)));
    }
    g.finish();
}

fn positions(c: &mut Criterion) {
    let mut g = c.benchmark_group("positions");
    let text = corpus::text(&Spec { markdown: false, ..Spec::default() }, MIB).replace("the", "thé");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("LineIndex::new 1 MiB", |b| b.iter(|| LineIndex::new(black_box(&text))));
    let index = LineIndex::new(&text);
    let offsets: Vec<usize> = (0..10_000)
        .map(|i| {
            let mut o = i * (text.len() / 10_000);
            while !text.is_char_boundary(o) {
                o -= 1;
            }
            o
        })
        .collect();
    g.throughput(Throughput::Elements(offsets.len() as u64));
    g.bench_function("offset -> UTF-16 position x10k", |b| {
        b.iter(|| offsets.iter().map(|&o| index.position(&text, o, Encoding::Utf16).col as u64).sum::<u64>())
    });
    let lines = index.line_count() as u32;
    g.bench_function("UTF-16 position -> offset x10k", |b| {
        b.iter(|| {
            (0..10_000u32)
                .map(|i| index.offset(&text, LineCol { line: i % lines, col: 17 }, Encoding::Utf16))
                .sum::<usize>()
        })
    });
    g.finish();
}

fn html(c: &mut Criterion) {
    let description = "<P>Flood mitigation for the <B>Riverside</B> precinct &amp; levee.</P>\
        <UL><LI>Design lead: Jo Bloggs &lt;jo@example.com&gt;</LI><LI>Status: detailed design</LI></UL>\
        <TABLE><TR><TD>Stage</TD><TD>Due</TD></TR><TR><TD>Concept</TD><TD>2024-03-01</TD></TR></TABLE>"
        .repeat(8);
    let mut g = c.benchmark_group("html");
    g.throughput(Throughput::Bytes(description.len() as u64));
    g.bench_function("to_text 2 KB description", |b| b.iter(|| synergy_ls::html::to_text(black_box(&description))));
    g.finish();
}

fn warm_resolution(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (resolver, _sim) = rt.block_on(async {
        let sim = synergy_ls::simulator::Simulator::start(
            synergy_ls::simulator::SimConfig { token: "t".into(), ..Default::default() },
            0,
        )
        .await
        .unwrap();
        let config: synergy_ls::config::Config =
            serde_json::from_value(serde_json::json!({"serverUrl": sim.url(), "token": "t"})).unwrap();
        let resolver = synergy_ls::resolve::Resolver::from_config(&config);
        for name in ["Riverside", "Highway Upgrade 2024", "Drainage", "Riversde"] {
            resolver.resolve(name).await;
        }
        (resolver, sim)
    });
    let mut g = c.benchmark_group("warm cache");
    for name in ["Riverside", "Drainage", "Riversde"] {
        g.bench_with_input(BenchmarkId::new("resolve_cached", name), name, |b, n| {
            b.iter(|| resolver.resolve_cached(black_box(n)).expect("cached"))
        });
    }
    g.bench_function("resolve_cached + hover card", |b| {
        b.iter(|| {
            let r = resolver.resolve_cached("Riverside").unwrap();
            synergy_ls::present::hover("Riverside", &r, Some("https://web/{id}"))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = scanner, positions, html, warm_resolution
}
criterion_main!(benches);
