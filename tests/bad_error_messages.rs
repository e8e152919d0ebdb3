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
