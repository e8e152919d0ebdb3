//! One request's lifecycle: its body (through the target's dialect), the exchange, the race
//! against the timeout, a stop and a cut, and the row that records how it ended.
//!
//! | file | owns |
//! | --- | --- |
//! | `mod.rs` | [`Sender`], [`Sender::execute`]: the lifecycle and the row |
//! | `exchange.rs` | headers, the send, the status, the body whole or streamed |
//! | `stream.rs` | the SSE stream decoded by the dialect into chunk rows |
//! | `progress.rs` | what the response told so far (survives a timeout or a cancel) |
//! | `failure.rs` | a failure's kind and words, redacted then shortened |
//!
//! Nothing here decides when a request goes (that is `drive`) or what an API's JSON looks
//! like (that is `dialect`).

mod exchange;
mod failure;
mod progress;
pub mod stream;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::engine::dialect::{Ask, Dialect, Picture};
use crate::engine::record::run_dir::Ending;
use crate::engine::record::stop::Stopper;
use crate::engine::wire::clock::Clock;
use crate::engine::wire::http::HttpClient;
use crate::engine::wire::race::Won;
use crate::prompt::Prompt;
use crate::request_id::RunNonce;
use crate::rundir::record::{ChunkRow, ErrorKind, RequestRow, Status};
use crate::schedule::{Api, PlannedRequest, Target};
pub use failure::Failure;
use progress::Progress;

/// Everything needed to send requests to the run's servers.
pub struct Sender {
    /// The run's targets, at least one; which one a request goes to is the plan's
    /// ([`crate::schedule::Schedule::target_of`]).
    pub replicas: Vec<Replica>,
    /// The replica set-up asks (the model, the template probes): the first that answered.
    pub primary: usize,
    pub api_key: Option<String>,
    /// The key of `api = messages` requests, when it is not `api_key`.
    pub anthropic_key: Option<String>,
    /// `header_env` headers with their values (never written; redacted from errors).
    pub secret_headers: Vec<(String, String)>,
    pub target: Target,
    /// Per API (in [`Api::ALL`] order): how it builds a body and reads an answer, and the
    /// template tokens taken off its synthesized prompts.
    pub lanes: Vec<Lane>,
    /// The target's model (a class may name its own).
    pub model: String,
    /// The plan, for prompt synthesis (seed, replayed prefix blocks).
    pub schedule: Arc<crate::schedule::Schedule>,
    pub timeout: Duration,
    /// The run-unique part of every request's UUID.
    pub nonce: RunNonce,
    /// How the run ends, if it was stopped: an interrupted run's requests say so.
    pub stopper: Arc<Stopper>,
}

/// One of the run's targets: its URL as recorded (credentials removed) and its connections.
pub struct Replica {
    pub url: Arc<str>,
    pub http: HttpClient,
}

/// How the requests of one API are sent.
pub struct Lane {
    pub dialect: &'static dyn Dialect,
    /// Tokens the server adds to a prompt of this API (its template), taken off synthesized
    /// text so the server counts `input` tokens (0 with `prompt_tokens = text`, on completions,
    /// or when it could not be measured).
    pub prompt_overhead: u32,
}

impl Lane {
    /// Every API's lane, none with an overhead yet.
    pub fn all() -> Vec<Lane> {
        Api::ALL
            .into_iter()
            .map(|a| Lane {
                dialect: crate::engine::dialect::of(a),
                prompt_overhead: 0,
            })
            .collect()
    }
}

/// Without `timeout` in the workload, a request that takes longer than this is a timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// Chunk rows a request reserves room for at most before its stream starts.
const CHUNKS_AHEAD: u32 = 1024;

/// Resolves when `cut` is bumped after the request subscribed (never if its sender is gone).
async fn until_bumped(cut: &mut watch::Receiver<u64>) {
    if cut.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// What a request's images came to: how many (`None`: its class sends none), their pixels and
/// their encoded bytes (before base64).
#[derive(Debug, Default, Clone, Copy)]
pub struct Images {
    pub count: Option<u32>,
    pub pixels: u64,
    pub bytes: u64,
}

/// A request that ended: its row, its chunks, the answer's text if it was asked for, and how
/// long the server asked to be left alone.
pub struct Done {
    pub row: RequestRow,
    pub chunks: Vec<ChunkRow>,
    pub reply: Option<String>,
    pub retry_after: Option<Duration>,
}

/// A conversation's turn: the prompt to send instead of the plan's own, its length in tokens
/// (what the row records as `input_tokens`), and whether the answer's text is wanted back.
pub struct Turn {
    pub prompt: Prompt,
    pub input_tokens: u32,
    pub capture: bool,
}

/// What ended the race besides the exchange itself.
enum Rare {
    Timeout,
    Stop,
    Cut,
}

impl Sender {
    /// Every secret the run sends: the API key and the `header_env` values.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.api_key
            .iter()
            .chain(&self.anthropic_key)
            .chain(self.secret_headers.iter().map(|(_, v)| v))
            .map(String::as_str)
    }

    /// The replica `r` is sent to.
    pub fn replica(&self, r: &PlannedRequest) -> &Replica {
        &self.replicas[self.schedule.target_of(r, self.replicas.len())]
    }

    /// The lane of `api`.
    pub fn lane(&self, api: Api) -> &Lane {
        &self.lanes[api as usize]
    }

    /// The headers that carry `api`'s key (and any its API requires).
    pub fn auth(&self, api: Api) -> Vec<(&'static str, String)> {
        let key = match api {
            Api::Messages => self.anthropic_key.as_ref().or(self.api_key.as_ref()),
            _ => self.api_key.as_ref(),
        };
        self.lane(api).dialect.auth(key.map(String::as_str))
    }

    /// Whether `r`'s answer is streamed: the target's `stream`, for an API that generates.
    pub fn streams(&self, r: &PlannedRequest) -> bool {
        self.target.stream && self.schedule.api_of(r).generates()
    }

    /// The dialect `r` is sent in.
    pub fn dialect(&self, r: &PlannedRequest) -> &'static dyn Dialect {
        self.lane(self.schedule.api_of(r)).dialect
    }

    /// The model `r` names: its class's, else the target's.
    pub fn model_of(&self, r: &PlannedRequest) -> &str {
        self.schedule.model_of(r).unwrap_or(&self.model)
    }

    /// `r`'s body, what its images came to, and the tools it offers.
    fn body(&self, r: &PlannedRequest, prompt: Option<Prompt>) -> (String, Images, u32) {
        let lane = self.lane(self.schedule.api_of(r));
        let prompt = prompt.unwrap_or_else(|| {
            crate::prompt::of_shortened(&self.schedule, r, lane.prompt_overhead)
        });
        let (images, made) = self.images(r);
        let tools = crate::prompt::tools(&self.schedule, r);
        let offered = tools.len() as u32;
        let tool_choice = self.schedule.class_plan(r).and_then(|c| c.form.tool_choice);
        let body = lane
            .dialect
            .body(Ask {
                model: self.model_of(r),
                prompt,
                max_tokens: r.output_tokens,
                stream: self.streams(r),
                ignore_eos: self.target.ignore_eos,
                temperature: self.target.temperature,
                images,
                tools,
                tool_choice,
            })
            .to_string();
        (body, made, offered)
    }

    /// `r`'s images, made now from the plan (its trace row's or its class's count, its class's
    /// sizes and format).
    fn images(&self, r: &PlannedRequest) -> (Vec<Picture>, Images) {
        use base64::Engine as _;
        let form = self.schedule.class_plan(r).map(|c| &c.form);
        let said = self.schedule.recorded_of(r).and_then(|x| x.images);
        if said.is_none() && form.is_none_or(|f| f.images.is_none()) {
            return (Vec::new(), Images::default());
        }
        let sizes = self.schedule.images_of(r);
        let format = form.and_then(|f| f.image_format).unwrap_or_default();
        let mut made = Images {
            count: Some(sizes.len() as u32),
            ..Images::default()
        };
        let pictures = sizes
            .iter()
            .enumerate()
            .map(|(k, &(w, h))| {
                let bytes = crate::image::synth(self.schedule.image_key(r, k), w, h, format);
                made.pixels += u64::from(w) * u64::from(h);
                made.bytes += bytes.len() as u64;
                Picture {
                    mime: format.mime(),
                    base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
                }
            })
            .collect();
        (pictures, made)
    }

    /// Why a request that did not finish ended, when something other than the exchange ended
    /// it.
    fn ended_by(&self, rare: Rare) -> (Status, Failure) {
        match rare {
            Rare::Timeout => (
                Status::Timeout,
                Failure::new(
                    ErrorKind::Timeout,
                    format!("no complete response within {:?}", self.timeout),
                ),
            ),
            Rare::Cut => (
                Status::Cancelled,
                Failure::new(ErrorKind::Cut, "its search probe ended a hold ago; cancelled so the next probe starts on an idle server"),
            ),
            Rare::Stop => {
                let kind = match self.stopper.outcome() {
                    Some((Ending::Interrupted, _)) => ErrorKind::Interrupted,
                    _ => ErrorKind::Cancelled,
                };
                let why = match kind {
                    ErrorKind::Interrupted => "the run was interrupted".to_string(),
                    _ => match self.stopper.outcome() {
                        Some((_, why)) => format!("the run stopped: {why}"),
                        None => "the run stopped".to_string(),
                    },
                };
                (Status::Cancelled, Failure::new(kind, why))
            }
        }
    }

    /// Sends `r` now and waits for its response, the timeout, `stop`, or `cut` (a search cuts
    /// the requests of a probe still running a hold after it ended).
    pub async fn execute(
        &self,
        r: &PlannedRequest,
        scheduled_ns: Option<u64>,
        clock: &Clock,
        mut stop: watch::Receiver<bool>,
        mut cut: watch::Receiver<u64>,
        turn: Option<Turn>,
    ) -> Done {
        let input_tokens = turn.as_ref().map_or(r.input_tokens, |t| t.input_tokens);
        let capture = turn.as_ref().is_some_and(|t| t.capture);
        let (body, images, tools) = self.body(r, turn.map(|t| t.prompt));
        let body_bytes = body.len() as u64;
        let uuid = self.nonce.uuid(r.id);
        let mut progress = Progress {
            // Room for the chunks asked for, so 2,000 streams do not hold a doubled Vec each.
            chunks: Vec::with_capacity(if self.streams(r) {
                r.output_tokens.min(CHUNKS_AHEAD) as usize + 2
            } else {
                2
            }),
            failure_free: true,
            reply: capture.then(String::new),
            tools_offered: tools > 0,
            ..Progress::default()
        };
        // When the attempt began: the row's `sent_ns` only if no byte was ever written.
        let sent_ns = clock.now();
        let outcome = {
            let exchange = self.exchange(r, &uuid, body, clock, sent_ns, &mut progress);
            // The timeout, a stop and a cut fire once if ever: polled only when they do, not at
            // every chunk (engine/wire/race.rs).
            let rare = async {
                tokio::select! {
                    _ = tokio::time::sleep(self.timeout) => Rare::Timeout,
                    _ = crate::engine::record::stop::until_set(&mut stop) => Rare::Stop,
                    _ = until_bumped(&mut cut) => Rare::Cut,
                }
            };
            match crate::engine::wire::race::race(exchange, rare).await {
                Won::Busy(o) => o.map_err(|f| (Status::Error, f)),
                Won::Rare(rare) => Err(self.ended_by(rare)),
            }
        };
        let done_ns = progress.done_ns.unwrap_or_else(|| clock.now());
        // An answer whose finish_reason arrived is complete, even if a stop or the timeout came
        // while llmw waited for `[DONE]` or the body's end after it.
        let complete = progress.finished && progress.failure_free;
        let (status, failure) = match outcome {
            Ok(()) => (Status::Ok, None),
            Err(_) if complete => (Status::Ok, None),
            // A failure noticed as the run stopped is the stop's doing.
            Err((Status::Error, _)) if *stop.borrow() => {
                let (s, f) = self.ended_by(Rare::Stop);
                (s, Some(f))
            }
            Err((s, f)) => (s, Some(f)),
        };
        let mut row = self.row(
            r,
            scheduled_ns,
            sent_ns,
            done_ns,
            input_tokens,
            &uuid,
            status,
            failure,
            &mut progress,
        );
        row.body_bytes = Some(body_bytes);
        if tools > 0 {
            row.tools = Some(tools);
            row.tool_calls = Some(progress.tool_calls.unwrap_or(0));
            row.first_tool_ns = progress.first_tool_ns;
        }
        if images.count.is_some() {
            row.images = images.count;
            row.image_pixels = Some(images.pixels);
            row.image_bytes = Some(images.bytes);
        }
        Done {
            row,
            chunks: progress.chunks,
            reply: progress.reply,
            retry_after: progress.retry_after,
        }
    }

    /// The request's row.
    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        r: &PlannedRequest,
        scheduled_ns: Option<u64>,
        sent_ns: u64,
        done_ns: u64,
        input_tokens: u32,
        uuid: &str,
        status: Status,
        failure: Option<Failure>,
        p: &mut Progress,
    ) -> RequestRow {
        let counted = p.counted();
        let reasoning: u32 = p
            .chunks
            .iter()
            .filter(|c| c.reasoning)
            .map(|c| c.tokens)
            .sum();
        let any_reasoning = p.chunks.iter().any(|c| c.reasoning);
        RequestRow {
            request_id: r.id,
            phase: r.phase,
            step: r.step,
            class: r.class,
            scheduled_ns,
            sent_ns: p.written_ns.unwrap_or(sent_ns),
            first_token_ns: p.first_token_ns,
            last_token_ns: p.last_token_ns,
            done_ns,
            input_tokens,
            output_tokens_requested: r.output_tokens,
            prompt_tokens: p.prompt_tokens,
            output_tokens: p
                .usage_output
                .or((!p.chunks.is_empty() || status == Status::Ok).then_some(counted)),
            chunks: p.chunks.len() as u32,
            status,
            http_status: p.http_status,
            error: failure.as_ref().map(|f| f.recorded(self.secrets())),
            error_kind: failure.map(|f| f.kind),
            prefix_group: r.prefix_group,
            request_uuid: Some(uuid.to_string()),
            conn_reused: p.conn_reused,
            resent: p.resent,
            finish_reason: p.finish_reason.take(),
            cached_tokens: p.cached_tokens,
            first_content_ns: p.first_content_ns,
            reasoning_tokens: p
                .usage_reasoning
                .or((any_reasoning || status == Status::Ok).then_some(reasoning)),
            session: r.session.map(|t| t.id),
            turn: r.session.map(|t| t.turn),
            branch: r.session.map(|t| t.branch),
            session_turns: r.session.map(|t| t.turns),
            connect_ns: p.setup.map(|s| s.connect.as_nanos() as u64),
            tls_ns: p.setup.and_then(|s| s.tls).map(|t| t.as_nanos() as u64),
            backoff_ns: None,
            api: Some(self.schedule.api_of(r).as_str()),
            inputs: (!self.schedule.api_of(r).generates()).then(|| r.inputs.unwrap_or(1)),
            model: Some(self.model_of(r).to_string()),
            target: Some(self.replica(r).url.clone()),
            ..RequestRow::bare(r.id, r.step, status, (0, None, None, 0))
        }
    }
}
