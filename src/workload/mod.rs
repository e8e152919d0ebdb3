//! The checked workload: what a `.llmw` file means, with units resolved, defaults filled,
//! parameters and includes applied, and every class and phase validated.
//!
//! Produced by [`crate::check()`], consumed by [`crate::schedule::compile`]. Times are integer
//! nanoseconds, rates are per second, lengths are tokens.

mod dist;
mod form;
mod load;
pub mod pin;

pub use dist::Dist;
pub use form::{Form, ImageFormat, ToolChoice, DEFAULT_IMAGE_SIZE, DEFAULT_TOOL_TOKENS};
pub use load::{Arrival, Level, Load, Process, SearchLevel, TraceRef};

use std::path::PathBuf;

/// A file the workload names, with where it names it (for the resolve stage's diagnostics).
/// It serializes as `"file"`: paths never reach the plan hash, the file's contents do (through
/// what the resolve stage loads), so a copied directory plans identically.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    /// Relative to the `.llmw` file that names it, joined onto that file's directory.
    pub path: PathBuf,
    pub span: crate::source::Span,
}

impl serde::Serialize for FileRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("file")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub name: String,
    pub description: Option<String>,
    /// `expect_plan = "HASH"`: the plan hash this workload must compile to (a prefix of 12 or
    /// more hex digits), so an edit or an upgrade that changes what it sends is caught.
    pub expect_plan: Option<String>,
    pub seed: u64,
    /// Every param with its final value as written (after `--set`), in declaration order.
    pub params: Vec<ParamValue>,
    pub target: Target,
    pub phases: Vec<Phase>,
    pub slo: Vec<Objective>,
    /// When the run stops itself because its requests keep failing (`None`: `abort = off`).
    pub abort: Option<AbortRule>,
    /// How a closed-loop user paces itself after a failed request (`None`: `backoff = none`).
    pub backoff: Option<Backoff>,
}

/// `on_error { backoff = exponential(from: 100ms, to: 10s)  jitter = true }`: after a failed
/// request, a closed-loop user waits `from`, doubling with each failure in a row up to `to`
/// (a success starts it over); with jitter, a share of the wait drawn at random so users that
/// failed together do not return together; never less than a 429's or 503's `Retry-After`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Backoff {
    pub from_ns: u64,
    pub to_ns: u64,
    pub jitter: bool,
}

impl Default for Backoff {
    /// 100 ms doubling to 10 s, with jitter.
    fn default() -> Backoff {
        Backoff {
            from_ns: 100_000_000,
            to_ns: 10_000_000_000,
            jitter: true,
        }
    }
}

/// `abort { errors > SHARE  over = WINDOW  min_requests = N }`.
#[derive(Debug, Clone, PartialEq)]
pub struct AbortRule {
    /// Failed share (errors and timeouts among finished requests) that stops the run.
    pub error_share: f64,
    pub window_ns: u64,
    /// Fewer finished requests than this in the window never stop the run.
    pub min_requests: u32,
}

impl Default for AbortRule {
    /// Every request that finished in the last 10 s failed.
    fn default() -> AbortRule {
        AbortRule {
            error_share: 1.0,
            window_ns: 10_000_000_000,
            min_requests: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamValue {
    pub name: String,
    pub value: String,
    pub overridden: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    Chat,
    Completions,
    /// The OpenAI Responses API.
    Responses,
    /// The Anthropic Messages API.
    Messages,
    /// The OpenAI embeddings API: a batch of inputs, nothing generated, never streamed.
    Embeddings,
}

impl Api {
    /// Every API, in the order the language lists them.
    pub const ALL: [Api; 5] = [
        Api::Chat,
        Api::Completions,
        Api::Responses,
        Api::Messages,
        Api::Embeddings,
    ];

    /// The API's name in a workload (`api = responses`).
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Chat => "chat",
            Api::Completions => "completions",
            Api::Responses => "responses",
            Api::Messages => "messages",
            Api::Embeddings => "embeddings",
        }
    }

    /// The API named `name`.
    pub fn named(name: &str) -> Option<Api> {
        Api::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether the server wraps the prompt in a chat template (whose tokens `prompt_tokens =
    /// exact` measures and takes off).
    pub fn templated(self) -> bool {
        !matches!(self, Api::Completions | Api::Embeddings)
    }

    /// Whether the API generates text (embeddings do not: no output, no first token).
    pub fn generates(self) -> bool {
        self != Api::Embeddings
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub api: Api,
    pub model: Option<String>,
    pub stream: bool,
    pub ignore_eos: bool,
    pub timeout_ns: Option<u64>,
    pub headers: Vec<(String, String)>,
    /// `header_env`: headers whose values are read from these environment variables when the
    /// run starts (sent, never written anywhere).
    pub header_env: Vec<(String, String)>,
    /// Params whose values fill a header: a `--set` of one is not archived.
    pub header_params: Vec<String>,
    pub temperature: Option<f64>,
    /// The header that carries each request's UUID (`None`: no such header is sent).
    pub request_id_header: Option<String>,
    /// How prompt lengths are made to match `input` on the chat API.
    pub prompt_tokens: PromptTokens,
    /// How requests are spread over several targets (`--target` given more than once).
    pub spread: Spread,
}

/// `spread = session | round_robin | class`: which of several targets a request goes to. A
/// pure function of the plan, the request and the number of targets
/// ([`crate::schedule::Schedule::target_of`]), so a run of the same plan against the same
/// fleet sends every request to the same replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spread {
    /// Every turn of a conversation to one target, chosen by a hash of its id (its prefix
    /// cache stays warm); other requests round robin.
    #[default]
    Session,
    /// Request `id` to target `id mod N`, conversations too.
    RoundRobin,
    /// Every request of the `k`-th class (in the order the workload declares them) to target
    /// `k mod N`.
    Class,
}

impl Spread {
    pub const ALL: [Spread; 3] = [Spread::Session, Spread::RoundRobin, Spread::Class];

    pub fn as_str(self) -> &'static str {
        match self {
            Spread::Session => "session",
            Spread::RoundRobin => "round_robin",
            Spread::Class => "class",
        }
    }
}

/// `prompt_tokens = exact | text`: whether the chat template's tokens count toward `input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptTokens {
    /// Measure the server's chat-template overhead before the run and shorten the synthesized
    /// user text by it, so the server counts `input` prompt tokens.
    Exact,
    /// Send `input` tokens of user text; the server adds its template on top.
    Text,
}

impl PromptTokens {
    pub fn as_str(self) -> &'static str {
        match self {
            PromptTokens::Exact => "exact",
            PromptTokens::Text => "text",
        }
    }
}

/// The header llmw sends each request's id in, unless the workload says otherwise.
pub const DEFAULT_REQUEST_ID_HEADER: &str = "x-request-id";

impl Default for Target {
    fn default() -> Target {
        Target {
            api: Api::Chat,
            model: None,
            stream: true,
            ignore_eos: false,
            timeout_ns: None,
            headers: Vec::new(),
            header_env: Vec::new(),
            header_params: Vec::new(),
            temperature: None,
            request_id_header: Some(DEFAULT_REQUEST_ID_HEADER.to_string()),
            prompt_tokens: PromptTokens::Exact,
            spread: Spread::Session,
        }
    }
}

/// A traffic class: a named request shape picked with probability proportional to `weight`.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    pub name: String,
    pub weight: f64,
    pub shape: Shape,
    /// The API and model, where the class names its own.
    pub form: Form,
    /// `session "name" { ... }`: the class's unit is a conversation of turns, not one request
    /// (`shape.input`/`output` are each turn's new user text and reply, `shape.prefix` its
    /// system prompt).
    pub session: Option<Session>,
}

/// The turn structure of a `session` class (its lengths are the class's [`Shape`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Session {
    /// Requests in the conversation (turns), an integer ≥ 1 per draw.
    pub turns: Dist,
    /// Seconds between an answer and the next turn.
    pub think: Option<Dist>,
    pub history: History,
    /// Tokens of context above which the oldest turns are dropped.
    pub max_context: Option<u32>,
    /// Parallel requests per turn on the same context, joined before the next turn.
    pub fanout: Option<Dist>,
    /// `tool_result = DIST`: an agent loop. Every turn but the last answers with a call to one
    /// of the session's tools, and each later turn's new input is that call's result of this
    /// many tokens (not user text). Left out of the plan hash's encoding when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<Dist>,
}

/// What goes back into the next turn's context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum History {
    /// The plan's synthesized replies of the planned lengths: every prompt is fixed by the plan.
    Planned,
    /// The server's real replies (what a chat user sees).
    Live,
}

impl History {
    pub fn as_str(self) -> &'static str {
        match self {
            History::Planned => "planned",
            History::Live => "live",
        }
    }
}

/// How one request of a class looks. Lengths are prompt tokens (after any prefix) and
/// requested output tokens.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Shape {
    pub input: Dist,
    pub output: Dist,
    pub prefix: Option<Prefix>,
    /// `prompts = dataset("file.jsonl")`: real prompt texts.
    pub prompts: Option<FileRef>,
    /// `sample = trace(...)`: (input, output) pairs drawn jointly from a trace's rows.
    pub sample: Option<TraceRef>,
    /// `tokenizer = "tokenizer.json"` (Hugging Face format): measures `dataset(...)` prompts.
    /// (Left out of the plan hash's encoding when unset, so earlier plans keep their hash.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<FileRef>,
}

/// `prefix = shared(tokens: N, groups: G, skew: s)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prefix {
    pub tokens: u32,
    pub groups: u32,
    /// Zipf exponent for picking a group; `None` picks uniformly.
    pub skew: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub name: String,
    /// The phase's length; `None` when it ends by `requests` alone or by its trace.
    pub duration_ns: Option<u64>,
    /// `requests = N`: the phase stops after N requests have been sent.
    pub max_requests: Option<u64>,
    pub load: Load,
    /// Closed loop: a pause between a user's requests (seconds).
    pub think: Option<Dist>,
    /// Open loop: arrivals that find this many requests outstanding are dropped.
    pub max_in_flight: Option<u64>,
    pub measure: bool,
    pub pause_ns: u64,
    /// `verify = true` (searched phases only): after the search, hold the load at 50, 60 and
    /// 70 % of the saturation throughput.
    pub verify: bool,
    /// The classes in force during this phase (workload classes with phase overrides applied).
    pub classes: Vec<Class>,
    /// Trace phases: whether the phase's own blocks set `input` / `output` (then they override
    /// the trace's lengths).
    pub own_lengths: (bool, bool),
}

/// `slo` objective: `METRIC.STAT OP VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub metric: crate::metric::Metric,
    pub stat: Option<crate::metric::Stat>,
    pub op: crate::metric::CmpOp,
    /// In base units: seconds for times, a fraction for percentages, per second for rates.
    pub threshold: f64,
    /// The objective as written, e.g. `ttft.p99 < 2s`.
    pub text: String,
}

impl Workload {
    /// Calls `f` on every distribution the workload holds — a closed-loop phase's `think`, each
    /// class's `input` and `output`, each session's `turns`, `think` and `fanout` — the one walk
    /// for a stage that must see them all (resolve loads `empirical(...)` columns through it).
    /// The structs are taken apart field by field, so a new field cannot be missed silently.
    pub fn each_dist_mut(&mut self, f: &mut impl FnMut(&mut Dist)) {
        for phase in &mut self.phases {
            let Phase {
                name: _,
                duration_ns: _,
                max_requests: _,
                load: _,
                think,
                max_in_flight: _,
                measure: _,
                pause_ns: _,
                verify: _,
                classes,
                own_lengths: _,
            } = phase;
            if let Some(t) = think {
                f(t);
            }
            for class in classes {
                let Class {
                    name: _,
                    weight: _,
                    shape,
                    form,
                    session,
                } = class;
                for d in [&mut form.inputs, &mut form.images, &mut form.tool_tokens] {
                    d.iter_mut().for_each(&mut *f);
                }
                let Shape {
                    input,
                    output,
                    prefix: _,
                    prompts: _,
                    sample: _,
                    tokenizer: _,
                } = shape;
                f(input);
                f(output);
                if let Some(Session {
                    turns,
                    think,
                    history: _,
                    max_context: _,
                    fanout,
                    tool_result,
                }) = session
                {
                    f(turns);
                    think
                        .iter_mut()
                        .chain(fanout.iter_mut())
                        .chain(tool_result.iter_mut())
                        .for_each(&mut *f);
                }
            }
        }
    }
}
