//! What the table is headed with: CPU model, cores, memory, kernel, rustc,
//! and the open-file limit (1,000 simulators need thousands of sockets).

use std::process::Command;

pub(crate) struct Machine {
    cpu: String,
    cores: usize,
    memory: String,
    kernel: String,
    rustc: String,
    open_files: String,
}

pub(crate) fn describe() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".into(),
            |kib| format!("{:.1} GiB", kib as f64 / 1024.0 / 1024.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("Linux {}", s.trim()))
        .unwrap_or_else(|_| std::env::consts::OS.into());
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc unknown".into());
    let open_files = crate::harness::open_files_limit().map_or_else(
        || "unknown".into(),
        |(soft, hard)| format!("{soft} (hard {hard})"),
    );
    Machine {
        cpu,
        cores,
        memory,
        kernel,
        rustc,
        open_files,
    }
}

impl Machine {
    pub(crate) fn render(&self) -> String {
        format!(
            "machine: {}, {} cores, {} RAM, {}, {}, open files {}",
            self.cpu, self.cores, self.memory, self.kernel, self.rustc, self.open_files
        )
    }
}
