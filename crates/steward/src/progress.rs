//! Sync progress on the terminal: one `indicatif` bar per resource on a TTY, plain lines
//! otherwise (and when `CI` is set), nothing with `--json`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use steward_model::Resource;
use steward_products::sync::SyncProgress;

pub enum TerminalProgress {
    Bars {
        multi: MultiProgress,
        bars: Mutex<BTreeMap<Resource, ProgressBar>>,
    },
    Lines {
        last: Mutex<BTreeMap<Resource, u64>>,
    },
    Silent,
}

impl TerminalProgress {
    pub fn new(json: bool) -> Self {
        if json {
            return TerminalProgress::Silent;
        }
        let ci = std::env::var_os("CI").is_some();
        if std::io::stderr().is_terminal() && !ci {
            TerminalProgress::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::new(BTreeMap::new()),
            }
        } else {
            TerminalProgress::Lines {
                last: Mutex::new(BTreeMap::new()),
            }
        }
    }

    fn bar(&self, resource: Resource) -> Option<ProgressBar> {
        let TerminalProgress::Bars { multi, bars } = self else {
            return None;
        };
        let mut bars = bars.lock().ok()?;
        Some(
            bars.entry(resource)
                .or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    if let Ok(style) =
                        ProgressStyle::with_template("{spinner} {prefix:<24} {pos:>9} {msg}")
                    {
                        bar.set_style(style);
                    }
                    bar.set_prefix(resource.label());
                    bar
                })
                .clone(),
        )
    }
}

impl SyncProgress for TerminalProgress {
    fn fetched(&self, resource: Resource, total: u64) {
        match self {
            TerminalProgress::Bars { .. } => {
                if let Some(bar) = self.bar(resource) {
                    bar.set_position(total);
                    bar.tick();
                }
            }
            TerminalProgress::Lines { last } => {
                // One line per 10,000 records keeps logs readable on big orgs.
                if let Ok(mut last) = last.lock() {
                    let seen = last.entry(resource).or_default();
                    if total / 10_000 > *seen / 10_000 {
                        eprintln!("  {}: {total} so far", resource.label());
                    }
                    *seen = total;
                }
            }
            TerminalProgress::Silent => {}
        }
    }

    fn done(&self, resource: Resource, count: u64) {
        match self {
            TerminalProgress::Bars { .. } => {
                if let Some(bar) = self.bar(resource) {
                    bar.set_position(count);
                    bar.finish_with_message("✓");
                }
            }
            TerminalProgress::Lines { .. } => eprintln!("  {}: {count} ✓", resource.label()),
            TerminalProgress::Silent => {}
        }
    }

    fn unreadable(&self, resource: Resource, reason: &str) {
        match self {
            TerminalProgress::Bars { .. } => {
                if let Some(bar) = self.bar(resource) {
                    bar.finish_with_message(format!("✗ not readable: {reason}"));
                }
            }
            TerminalProgress::Lines { .. } => {
                eprintln!("  {}: ✗ not readable: {reason}", resource.label())
            }
            TerminalProgress::Silent => {}
        }
    }
}
