//! Diagnostics known to be poor, kept as snapshots so they are improved deliberately (after
//! PRQL's `bad_error_messages`): each case says what a good message would say. When one is
//! fixed, its snapshot changes — move the case to `tests/broken/` with the better text.

mod common;

fn said(text: &str) -> String {
    common::errors(text)
}

#[test]
fn a_space_between_a_number_and_its_unit() {
    // Good: one error, "write 10s, without a space"; today a second, puzzling one follows
    // (the parser, after `10 s`, expects a string or a comparison at `concurrency`).
    insta::assert_snapshot!(said(
        "workload \"x\" {\n  requests { input = 10  output = 5 }\n  phase \"p\" { duration = 10 s  concurrency = 4 }\n}\n"
    ));
}

#[test]
fn an_objective_without_its_dot() {
    // Good: "write ttft.p99 < 2s" (METRIC.STAT), at `ttft p99`; today the parser lists what
    // could follow a block name.
    insta::assert_snapshot!(said(
        "workload \"x\" {\n  requests { input = 10  output = 5 }\n  phase \"p\" { duration = 10s  concurrency = 4 }\n  slo { ttft p99 < 2s }\n}\n"
    ));
}

#[test]
fn a_block_left_open_before_the_next() {
    // Good: "`requests` is not closed before `phase` begins" at the requests block's `{` (a
    // phase cannot sit inside requests); today it points at the workload's `{`, since the
    // file's last `}` closes requests instead.
    insta::assert_snapshot!(said(
        "workload \"x\" {\n  requests { input = 10  output = 5\n  phase \"p\" { duration = 10s  concurrency = 4 }\n}\n"
    ));
}
