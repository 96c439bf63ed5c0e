//! Human output: tables and the connection-test ✓/✗ report. JSON output is plain serde.

use std::fmt::Write as _;

use serde::Serialize;
use steward_model::{CheckOutcome, ConnectionReport};

/// Print a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A simple left-aligned table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(c.chars().count());
            let _ = write!(s, "{c}{}  ", " ".repeat(pad));
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(headers.to_vec(), &mut out);
    for row in rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// The connection test as a ✓/✗ table with a fix under every ✗.
pub fn connection_report(report: &ConnectionReport) -> String {
    let mut out = String::new();
    if let Some(fatal) = &report.fatal {
        let _ = writeln!(out, "✗ {fatal}");
        return out;
    }
    match &report.principal {
        Some(p) if report.roles.is_empty() => {
            let _ = writeln!(out, "Token acts as {p} (its admin roles could not be read)");
        }
        Some(p) => {
            let _ = writeln!(
                out,
                "Token acts as {p} (roles: {})",
                report.roles.join(", ")
            );
        }
        None => {}
    }
    for check in &report.checks {
        let (mark, detail) = match &check.outcome {
            CheckOutcome::Ok => ("✓", String::new()),
            CheckOutcome::Fallback { reason } => ("✓", format!(" (fallback: {reason})")),
            CheckOutcome::Denied {
                http_status,
                code,
                reason,
                ..
            } => (
                "✗",
                format!(
                    " — {http_status} {}: {reason}",
                    code.as_deref().unwrap_or("")
                ),
            ),
            CheckOutcome::Error { reason } => ("✗", format!(" — {reason}")),
        };
        let kind = if check.required {
            "required"
        } else {
            "optional"
        };
        let _ = writeln!(
            out,
            "{mark} {:<28} {kind:<8} {}{detail}",
            check.name, check.endpoint
        );
        if let CheckOutcome::Denied { fix, .. } = &check.outcome {
            let _ = writeln!(out, "    fix: {fix}");
        }
    }
    for w in &report.warnings {
        let _ = writeln!(out, "! {w}");
    }
    let verdict = if report.required_ok() {
        "All required checks passed."
    } else {
        "A required check failed: Steward cannot sync with this token."
    };
    let _ = writeln!(out, "{verdict}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(&["a", "bb"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "a    bb\nxxx  y\n");
    }
}
