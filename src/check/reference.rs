//! The language's reference in one table: every block, field, function and unit with its
//! one-line meaning and default, and which fields each block takes (the checker's own lists).
//! The language server's hover and completion read it; `tests/reference.rs` checks it against
//! the checker's field lists and against `docs/language.md`, so the three cannot drift apart.

/// What a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Block,
    Field,
    Function,
    Unit,
}

/// One name of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub name: &'static str,
    pub kind: Kind,
    pub doc: &'static str,
    /// What it is when not written (`None`: required, or nothing).
    pub default: Option<&'static str>,
}

const fn b(name: &'static str, doc: &'static str) -> Item {
    Item {
        name,
        kind: Kind::Block,
        doc,
        default: None,
    }
}
const fn f(name: &'static str, doc: &'static str, default: Option<&'static str>) -> Item {
    Item {
        name,
        kind: Kind::Field,
        doc,
        default,
    }
}
const fn call(name: &'static str, doc: &'static str) -> Item {
    Item {
        name,
        kind: Kind::Function,
        doc,
        default: None,
    }
}
const fn unit(name: &'static str, doc: &'static str) -> Item {
    Item {
        name,
        kind: Kind::Unit,
        doc,
        default: None,
    }
}

/// Every name, blocks first, then fields, functions and units.
pub const ITEMS: &[Item] = &[
    b("workload", "`workload \"name\" { ... }`: one workload a file; its name labels every run"),
    b("target", "how requests are sent: API, model, streaming, timeout, headers, spread over several targets"),
    b("requests", "the default request shape every class inherits (also a phase's own `requests { ... }`, and as a phase field, a limit)"),
    b("class", "`class \"name\" weight W { ... }`: a traffic class, picked in proportion to its weight"),
    b("session", "`session \"name\" weight W { ... }`: a class whose unit is a conversation of turns"),
    b("phase", "`phase \"name\" { ... }`: a stretch of load, run one after another"),
    b("slo", "objectives the analysis checks: `ttft.p99 < 2s`, `errors < 1%`"),
    b("abort", "when a run stops itself because its requests keep failing (`abort = off` never)"),
    b("on_error", "how a closed-loop user paces itself after a failed request (`backoff`, `jitter`)"),
    f("description", "a sentence saying what the workload is for, kept in every run", None),
    f("expect_plan", "the plan hash this workload must compile to (12+ hex digits), or check/plan/run refuse it", None),
    f("seed", "the random seed: the same file and seed plan the same requests, byte for byte", Some("0")),
    f("param", "`param NAME = value`: a named value, overridable with `--set NAME=VALUE`", None),
    f("include", "`include \"file.llmw\"`: splice another file's entries in here", None),
    f("api", "the API requests go to: chat, completions, responses, messages or embeddings", Some("chat")),
    f("model", "the model requests name, or a weighted mix `choice(\"base\": 3, \"lora\": 1)`", Some("the target's, else the first the server lists")),
    f("stream", "stream answers (needed for TTFT and ITL)", Some("true")),
    f("ignore_eos", "generate exactly the planned output length", Some("false")),
    f("timeout", "a request's limit, from sending to its last byte", Some("none")),
    f("headers", "extra request headers, `{ \"X-Team\": \"perf\" }`", None),
    f("header_env", "headers whose values come from environment variables, never written", None),
    f("temperature", "the sampling temperature sent with every request", Some("none: the server's")),
    f("request_id_header", "the header that carries each request's UUID (`off`: none)", Some("\"x-request-id\"")),
    f("prompt_tokens", "`exact` calibrates each API's template overhead so the server counts the planned input; `text` sends the words alone", Some("exact")),
    f("spread", "which of several targets a request goes to: session, round_robin or class", Some("session")),
    f("duration", "the phase's length", Some("until its requests or trace end")),
    f("arrival", "open loop: when requests are sent, `poisson(rate: 8/s)`, `trace(...)`", None),
    f("concurrency", "closed loop: virtual users, each sending again when answered; `steps(...)`, `ramp(...)`, `search(...)`", None),
    f("think", "a pause: between a closed-loop user's requests, or after a session's answers before its next turn", Some("none")),
    f("max_in_flight", "open loop: arrivals that find this many requests outstanding are dropped (and recorded)", Some("no limit")),
    f("measure", "whether the phase counts in the metrics (`false` for a warm-up)", Some("true")),
    f("pause", "a gap after the phase before the next starts", Some("0s")),
    f("verify", "after a capacity search, hold 50, 60 and 70 % of the saturation throughput", Some("false")),
    f("input", "prompt length in tokens (a session's: each turn's new text)", Some("required")),
    f("output", "requested output length in tokens (`max_tokens`)", Some("required")),
    f("prefix", "`shared(tokens: N, groups: G, skew: s)`: a prompt prefix shared by a group of requests", Some("none")),
    f("prompts", "`dataset(\"file.jsonl\")`: real prompts (a `prompt` string or `messages` a line)", None),
    f("sample", "`trace(\"file\", format: F)`: (input, output) pairs drawn jointly from a trace's rows", None),
    f("tokenizer", "a Hugging Face `tokenizer.json` that measures dataset prompts", Some("4 characters a token")),
    f("inputs", "embeddings: inputs per request (its batch), each of `input` tokens", Some("1")),
    f("images", "images each request sends with its text (0-64)", Some("none")),
    f("image_size", "each image's size, `\"512x512\"` or a weighted `choice(...)`", Some("512x512")),
    f("image_format", "jpeg or png", Some("jpeg")),
    f("tools", "synthetic function definitions each request offers (at most 128)", Some("none")),
    f("tool_tokens", "each tool definition's words", Some("64")),
    f("tool_choice", "auto, required or none", Some("the server's (auto)")),
    f("turns", "requests in a conversation", Some("required")),
    f("system", "`shared(tokens: N, groups: G)`: the conversation's system prompt", Some("none")),
    f("history", "what goes back into the next turn: the plan's replies (planned) or the server's (live)", Some("planned")),
    f("max_context", "tokens of context above which a conversation's oldest turns are dropped", Some("no limit")),
    f("fanout", "parallel requests per turn on the same context, joined before the next turn", Some("1")),
    f("tool_result", "an agent loop: each turn but the last calls a tool, and the next turn sends its result of this many tokens", Some("none")),
    f("over", "abort: the window the error share is measured over", Some("10s")),
    f("min_requests", "abort: requests the window must hold before it can abort", Some("1")),
    f("backoff", "on_error: `exponential(from: 100ms, to: 10s)`, or `none`", Some("exponential(from: 100ms, to: 10s)")),
    f("jitter", "on_error: a share of each wait drawn at random, so users that failed together return apart", Some("true")),
    call("uniform", "`uniform(lo, hi)`: every value in lo..hi equally likely"),
    call("normal", "`normal(mean: m, sd: s)`: a bell curve"),
    call("lognormal", "`lognormal(median: m, sigma: s)`: a long right tail, as prompt lengths have"),
    call("exponential", "`exponential(mean: m)`: memoryless waits"),
    call("gamma", "`gamma(mean: m, cv: c)` as a distribution; `gamma(rate: r, cv: c)` as bursty arrivals"),
    call("pareto", "`pareto(min: m, alpha: a)`: a heavy tail"),
    call("choice", "`choice(128: 0.5, 512: 0.5)`: values with their weights"),
    call("mix", "`mix(0.8: uniform(..), 0.2: ...)`: a weighted mixture of distributions"),
    call("empirical", "`empirical(\"file.csv\", column: \"c\")`: resample a column's values"),
    call("constant", "a fixed value as a distribution; `constant(rate: r)` as evenly spaced arrivals"),
    call("poisson", "`poisson(rate: 8/s)`: random independent arrivals at a mean rate"),
    call("onoff", "`onoff(rate: r, on: 5s, off: 15s)`: bursts of arrivals and silences"),
    call("trace", "`trace(\"file\", format: F, ...)`: a captured trace's own send times and lengths"),
    call("steps", "`steps(1, 4, 16, hold: 30s)`: load levels held in turn, each its own metric step"),
    call("ramp", "`ramp(from: a, to: b, over: D)`: a load rising linearly"),
    call("sine", "`sine(mean: r, amplitude: a, period: D)`: a diurnal rate"),
    call("search", "`search(...)`: find the saturation point and the SLO limit, probe by probe"),
    call("shared", "`shared(tokens: N, groups: G)`: a prefix (or system prompt) shared by groups of requests"),
    call("dataset", "`dataset(\"file.jsonl\")`: real prompts from a file"),
    unit("ms", "milliseconds"),
    unit("s", "seconds"),
    unit("m", "minutes"),
    unit("h", "hours"),
    unit("/s", "per second (a rate)"),
    unit("/m", "per minute (a rate)"),
    unit("/h", "per hour (a rate)"),
    unit("%", "percent"),
    unit("x", "a multiplier (`speed: 2x`)"),
];

/// The item named `name` (its first, where a name is both a block and a field).
pub fn item(name: &str) -> Option<&'static Item> {
    ITEMS.iter().find(|i| i.name == name)
}

/// The fields and blocks a block of kind `block` takes (`""` for the workload's own level),
/// from the checker's own lists; empty for a block the language does not have.
pub fn fields_of(block: &str) -> Vec<&'static str> {
    match block {
        "" | "workload" => super::TOP_LEVEL.to_vec(),
        "target" => super::target::KEYS.to_vec(),
        "phase" => {
            let mut v = super::phase::KEYS.to_vec();
            v.extend(["requests", "class", "session"]);
            v
        }
        "requests" | "class" => super::shape::SHAPE_FIELDS.to_vec(),
        "session" => super::session::SESSION_FIELDS.to_vec(),
        "on_error" => vec!["backoff", "jitter"],
        "abort" => vec!["over", "min_requests"],
        _ => Vec::new(),
    }
}

/// The functions that may stand where `field`'s value goes.
pub fn functions_for(field: &str) -> Vec<&'static str> {
    match field {
        "arrival" => super::arrival::PROCESSES.to_vec(),
        "concurrency" => vec!["steps", "ramp", "search"],
        "prefix" | "system" => vec!["shared"],
        "prompts" => vec!["dataset"],
        "sample" => vec!["trace"],
        _ => super::dist::DISTRIBUTIONS.to_vec(),
    }
}
