//! The cells of every rendering: how a number, a share and a load are written, and aligned
//! tables of them. A leaf: text, the report and the tables use it; it uses none of them.

use std::fmt::Write;

use crate::analysis::measure::groups::Load;

/// A table of cells: its header and its rows.
pub type Cells = (Vec<&'static str>, Vec<Vec<String>>);

pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

pub fn num(v: Option<f64>) -> String {
    v.map(|x| {
        if x >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    })
    .unwrap_or_else(|| "-".into())
}

pub fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "-".into())
}

pub fn load(l: Load) -> String {
    match l {
        Load::Concurrency(v) => format!("{} users", num(Some(v)).trim_end_matches(".00")),
        Load::Rate(v) => format!("{}/s", num(Some(v)).trim_end_matches(".00")),
    }
}

/// Aligned columns: the first `left` columns left-aligned, the rest right-aligned.
pub fn table(header: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i < left {
                let _ = write!(l, "{c}{pad}  ");
            } else {
                let _ = write!(l, "{pad}{c}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
    out
}
