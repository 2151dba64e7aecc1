//! The load benchmark: `cargo bench --bench load [-- --quick] [-- --only P1,P3]`
//! (`-- --drive ADDR`: a client for profiling the gateway, see `p1_profile`).
//!
//! Drives switchyard's own simulated schedulers and the in-process
//! Kubernetes API double, on 127.0.0.1 only, and prints one table headed
//! with a description of the machine. Every figure is measured in one run
//! that covers both sides of its comparison, so the ratio is meaningful
//! even on a noisy shared machine. See BENCHMARKS.md for what each figure
//! means and how it is taken.

#[path = "load/cpu.rs"]
mod cpu;
#[path = "load/harness.rs"]
mod harness;
#[path = "load/machine.rs"]
mod machine;
#[path = "load/nginx.rs"]
mod nginx;
#[path = "load/p1.rs"]
mod p1;
#[path = "load/p1_auth.rs"]
mod p1_auth;
#[path = "load/p1_profile.rs"]
mod p1_profile;
#[path = "load/p2.rs"]
mod p2;
#[path = "load/p3.rs"]
mod p3;
#[path = "load/p4.rs"]
mod p4;
#[path = "load/p5.rs"]
mod p5;
#[path = "load/p6.rs"]
mod p6;
#[path = "load/table.rs"]
mod table;

use std::time::Instant;

use harness::Scale;
use table::Row;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench` to every bench target; ignore it.
    let quick = args.iter().any(|a| a == "--quick");
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(|s| s.trim().to_uppercase()).collect());
    if let Some(drive) = p1_profile::Drive::from_args(&args)? {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(drive.run());
    }
    let scale = if quick { Scale::quick() } else { Scale::full() };
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let machine = machine::describe();
    let started = Instant::now();
    eprintln!(
        "switchyard load benchmark ({} mode); progress on stderr, the table on stdout",
        scale.mode
    );
    let mut rows: Vec<Row> = Vec::new();
    // P3 first: its memory baseline is cleanest before the others have
    // grown the allocator's heap. The table is printed in figure order.
    let scenarios: [(&str, Scenario); 6] = [
        ("P3", |s| Box::pin(p3::run(s))),
        ("P1", |s| Box::pin(p1::run(s))),
        ("P2", |s| Box::pin(p2::run(s))),
        ("P4", |s| Box::pin(p4::run(s))),
        ("P5", |s| Box::pin(p5::run(s))),
        ("P6", |s| Box::pin(p6::run(s))),
    ];
    for (name, scenario) in scenarios {
        if !wanted(name) {
            continue;
        }
        eprintln!("[{:>6.1}s] {name} ...", started.elapsed().as_secs_f64());
        match runtime.block_on(scenario(&scale)) {
            Ok(mut r) => rows.append(&mut r),
            Err(error) => rows.push(Row::failed(name, &format!("{error:#}"))),
        }
    }
    rows.sort_by(|a, b| a.figure[..2].cmp(&b.figure[..2]));
    // Whatever a scenario left behind (it shuts down what it started)
    // must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    println!();
    println!("{}", machine.render());
    println!(
        "mode: {} ({}); total {:.0} s",
        scale.mode,
        scale.describe(),
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("{}", table::render(&rows));
    Ok(())
}

type Scenario = for<'a> fn(
    &'a Scale,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = anyhow::Result<Vec<Row>>> + 'a>,
>;
