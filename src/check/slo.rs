//! `slo { ... }`: objectives such as `ttft.p99 < 2s` or `errors < 1%`, checked for a known
//! metric, a known statistic and a threshold of the metric's unit.

use crate::diag::Diagnostic;
use crate::syntax::{Block, Entry};
use crate::workload::Objective;

use super::suggest::closest;
use super::value::Ctx;

const METRICS: [&str; 8] = [
    "ttft", "itl", "tpot", "e2e", "tps", "tps_user", "errors", "dropped",
];
const STATS: [&str; 6] = ["mean", "p50", "p90", "p95", "p99", "max"];

pub(crate) fn slo_block(ctx: &mut Ctx, block: &Block, out: &mut Vec<Objective>) {
    for entry in &block.entries {
        let o = match entry {
            Entry::Objective(o) => o,
            Entry::Broken { message, span } => {
                ctx.error(Diagnostic::error(*span, message.clone()));
                continue;
            }
            Entry::Assign { span, .. }
            | Entry::Param { span, .. }
            | Entry::Include { span, .. } => {
                ctx.error(
                    Diagnostic::error(*span, "slo holds objectives like `ttft.p99 < 2s`")
                        .help("write METRIC.STAT < VALUE or METRIC < VALUE"),
                );
                continue;
            }
            Entry::Block(b) => {
                ctx.error(Diagnostic::error(
                    b.span,
                    "slo holds objectives, not blocks",
                ));
                continue;
            }
        };
        let metric = o.metric.text.as_str();
        if !METRICS.contains(&metric) {
            ctx.error(
                Diagnostic::error(o.metric.span, format!("unknown metric '{metric}'"))
                    .label(format!("expected one of {}", METRICS.join(", ")))
                    .suggest(closest(metric, METRICS)),
            );
            continue;
        }
        if let Some(stat) = &o.stat {
            if !STATS.contains(&stat.text.as_str()) {
                ctx.error(
                    Diagnostic::error(stat.span, format!("unknown statistic '{}'", stat.text))
                        .label(format!("expected one of {}", STATS.join(", ")))
                        .suggest(closest(&stat.text, STATS)),
                );
                continue;
            }
            if matches!(metric, "errors" | "dropped" | "tps") {
                ctx.error(
                    Diagnostic::error(
                        stat.span,
                        format!("{metric} is one number per run, not a distribution"),
                    )
                    .help(format!("write {metric} {} VALUE", o.op.as_str())),
                );
                continue;
            }
        }
        let what = format!("the {metric} objective");
        let threshold = match metric {
            "ttft" | "itl" | "tpot" | "e2e" => ctx.seconds(&o.value, &what),
            "tps" | "tps_user" => ctx.rate(&o.value, &what),
            _ => ctx.percent(&o.value, &what),
        };
        let Some(threshold) = threshold else { continue };
        out.push(Objective {
            metric: metric.to_string(),
            stat: o.stat.as_ref().map(|s| s.text.clone()),
            op: o.op,
            threshold,
            text: ctx
                .sources
                .text(o.span)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        });
    }
}
