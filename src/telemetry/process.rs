//! Prometheus' standard `process_*` metrics, read from `/proc/self` when
//! `/metrics` is scraped. Linux only (switchyard runs in containers);
//! elsewhere there are none.
//!
//! Read here rather than through the `metrics` recorder because its
//! counters are integers and `process_cpu_seconds_total` needs fractions
//! of a second.

use super::Sample;
use switchyard_core::metrics as m;

/// The current values; empty where `/proc` is missing.
pub(super) fn sample() -> Vec<Sample> {
    let mut out = Vec::new();
    let read = |path: &str| std::fs::read_to_string(path).ok();
    if let Some(stat) = read("/proc/self/stat").as_deref().and_then(Stat::parse) {
        let ticks = clock_ticks_per_second();
        out.push((
            m::PROCESS_CPU_SECONDS_TOTAL,
            (stat.utime + stat.stime) as f64 / ticks,
        ));
        out.push((m::PROCESS_VIRTUAL_MEMORY_BYTES, stat.vsize as f64));
        out.push((
            m::PROCESS_RESIDENT_MEMORY_BYTES,
            (stat.rss_pages * page_size()) as f64,
        ));
        out.push((m::PROCESS_THREADS, stat.threads as f64));
        if let Some(boot) = read("/proc/stat").as_deref().and_then(boot_time) {
            out.push((
                m::PROCESS_START_TIME_SECONDS,
                boot as f64 + stat.starttime as f64 / ticks,
            ));
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.push((m::PROCESS_OPEN_FDS, fds.count() as f64));
    }
    if let Some(max) = read("/proc/self/limits")
        .as_deref()
        .and_then(max_open_files)
    {
        out.push((m::PROCESS_MAX_FDS, max as f64));
    }
    out
}

/// The fields of `/proc/self/stat` we report (see proc(5)).
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    threads: u64,
    starttime: u64,
    vsize: u64,
    rss_pages: u64,
}

impl Stat {
    fn parse(text: &str) -> Option<Stat> {
        // The command name (field 2) may hold spaces and parentheses; the
        // fields after its closing parenthesis start at field 3.
        let rest = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(Stat {
            utime: field(14)?,
            stime: field(15)?,
            threads: field(20)?,
            starttime: field(22)?,
            vsize: field(23)?,
            rss_pages: field(24)?,
        })
    }
}

/// `btime` of `/proc/stat`: boot time, seconds since the epoch.
fn boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of "Max open files" in `/proc/self/limits`; `None` when
/// unlimited.
fn max_open_files(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_a_command_name_with_spaces_and_parentheses() {
        let text = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 \
                    250 75 0 0 20 0 9 0 123456 987654321 2048 18446744073709551615 \
                    1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(
            Stat::parse(text),
            Some(Stat {
                utime: 250,
                stime: 75,
                threads: 9,
                starttime: 123456,
                vsize: 987654321,
                rss_pages: 2048,
            })
        );
        assert_eq!(Stat::parse("4242 (truncated) S 1 2"), None);
    }

    #[test]
    fn boot_time_and_fd_limit_are_parsed_and_unlimited_is_none() {
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1700000000)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 1048576              files     \n";
        assert_eq!(max_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(max_open_files(unlimited), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reports_every_process_metric() {
        let names: Vec<&str> = sample().iter().map(|(name, _)| *name).collect();
        for def in switchyard_core::metrics::CATALOGUE
            .iter()
            .filter(|d| d.name.starts_with("process_"))
        {
            assert!(
                names.contains(&def.name),
                "{} missing from {names:?}",
                def.name
            );
        }
    }
}
