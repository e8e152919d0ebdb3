//! `slo { ... }`: objectives such as `ttft.p99 < 2s` or `errors < 1%`, checked for a known
//! metric, a known statistic and a threshold of the metric's unit.

use crate::diag::Diagnostic;
use crate::metric::{Metric, Stat, Unit};
use crate::syntax::{Block, Entry};
use crate::workload::Objective;

use super::value::Ctx;
use crate::suggest::closest;

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
        let names = |all: &[&'static str]| all.join(", ");
        let metric_names: Vec<&str> = Metric::ALL.iter().map(|m| m.as_str()).collect();
        let Some(metric) = Metric::parse(&o.metric.text) else {
            ctx.error(
                Diagnostic::error(o.metric.span, format!("unknown metric '{}'", o.metric.text))
                    .label(format!("expected one of {}", names(&metric_names)))
                    .suggest(closest(&o.metric.text, metric_names.iter().copied())),
            );
            continue;
        };
        let mut stat = None;
        if let Some(s) = &o.stat {
            let stat_names: Vec<&str> = Stat::ALL.iter().map(|s| s.as_str()).collect();
            let Some(parsed) = Stat::parse(&s.text) else {
                ctx.error(
                    Diagnostic::error(s.span, format!("unknown statistic '{}'", s.text))
                        .label(format!("expected one of {}", names(&stat_names)))
                        .suggest(closest(&s.text, stat_names.iter().copied())),
                );
                continue;
            };
            if !metric.per_request() {
                ctx.error(
                    Diagnostic::error(
                        s.span,
                        format!(
                            "{} is one number per run, not a distribution",
                            metric.as_str()
                        ),
                    )
                    .help(format!(
                        "write {} {} VALUE",
                        metric.as_str(),
                        o.op.as_str()
                    )),
                );
                continue;
            }
            stat = Some(parsed);
        }
        let what = format!("the {} objective", metric.as_str());
        let threshold = match metric.unit() {
            Unit::Seconds => ctx.seconds(&o.value, &what),
            Unit::Rate => ctx.rate(&o.value, &what),
            Unit::Fraction => ctx.percent(&o.value, &what),
        };
        let Some(threshold) = threshold else { continue };
        out.push(Objective {
            metric,
            stat,
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
