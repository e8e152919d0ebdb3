//! The run directory's Parquet tables, defined once: each table's column names, its Arrow
//! schema and the encoding of its rows. The engine's writer writes them; the analysis, the
//! `llmw` trace reader and the tests read columns by these names. A column added later is
//! nullable and read as optional, so older runs still load.

/// `requests`: one row per request that reached its send time. Times are ns since the run's
/// start.
pub mod requests {
    pub const REQUEST_ID: &str = "request_id";
    pub const PHASE: &str = "phase";
    pub const STEP: &str = "step";
    pub const CLASS: &str = "class";
    pub const SCHEDULED_NS: &str = "scheduled_ns";
    pub const SENT_NS: &str = "sent_ns";
    pub const FIRST_TOKEN_NS: &str = "first_token_ns";
    pub const LAST_TOKEN_NS: &str = "last_token_ns";
    pub const DONE_NS: &str = "done_ns";
    pub const INPUT_TOKENS: &str = "input_tokens";
    pub const OUTPUT_TOKENS_REQUESTED: &str = "output_tokens_requested";
    pub const PROMPT_TOKENS: &str = "prompt_tokens";
    pub const OUTPUT_TOKENS: &str = "output_tokens";
    pub const CHUNKS: &str = "chunks";
    pub const STATUS: &str = "status";
    pub const HTTP_STATUS: &str = "http_status";
    pub const ERROR: &str = "error";
    pub const PREFIX_GROUP: &str = "prefix_group";
    pub const REQUEST_UUID: &str = "request_uuid";
    pub const CONN_REUSED: &str = "conn_reused";
    pub const RESENT: &str = "resent";
    pub const FINISH_REASON: &str = "finish_reason";
    pub const CACHED_TOKENS: &str = "cached_tokens";
    pub const FIRST_CONTENT_NS: &str = "first_content_ns";
    pub const REASONING_TOKENS: &str = "reasoning_tokens";
    pub const SESSION: &str = "session";
    pub const TURN: &str = "turn";
    pub const BRANCH: &str = "branch";
    pub const SESSION_TURNS: &str = "session_turns";
    pub const CONNECT_NS: &str = "connect_ns";
    pub const TLS_NS: &str = "tls_ns";
    pub const BACKOFF_NS: &str = "backoff_ns";
    pub const ERROR_KIND: &str = "error_kind";
    pub const API: &str = "api";
    pub const MODEL: &str = "model";
    pub const INPUTS: &str = "inputs";
    pub const TARGET: &str = "target";
    pub const IMAGES: &str = "images";
    pub const IMAGE_PIXELS: &str = "image_pixels";
    pub const IMAGE_BYTES: &str = "image_bytes";
    pub const BODY_BYTES: &str = "body_bytes";
    pub const TOOLS: &str = "tools";
    pub const TOOL_CALLS: &str = "tool_calls";
    pub const FIRST_TOOL_NS: &str = "first_tool_ns";

    use std::sync::Arc;

    use arrow_array::builder::{BooleanBuilder, Int32Builder, Int64Builder, StringBuilder};
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Schema, SchemaRef};

    use crate::rundir::record::RequestRow;

    pub fn schema() -> SchemaRef {
        let i64n = |n: &str, null: bool| Field::new(n, DataType::Int64, null);
        let i32n = |n: &str, null: bool| Field::new(n, DataType::Int32, null);
        let s = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
        Arc::new(Schema::new(vec![
            i64n(REQUEST_ID, false),
            s(PHASE, false),
            i32n(STEP, false),
            s(CLASS, false),
            i64n(SCHEDULED_NS, true),
            i64n(SENT_NS, false),
            i64n(FIRST_TOKEN_NS, true),
            i64n(LAST_TOKEN_NS, true),
            i64n(DONE_NS, false),
            i32n(INPUT_TOKENS, false),
            i32n(OUTPUT_TOKENS_REQUESTED, false),
            i32n(PROMPT_TOKENS, true),
            i32n(OUTPUT_TOKENS, true),
            i32n(CHUNKS, false),
            s(STATUS, false),
            i32n(HTTP_STATUS, true),
            s(ERROR, true),
            i32n(PREFIX_GROUP, true),
            s(REQUEST_UUID, true),
            Field::new(CONN_REUSED, DataType::Boolean, true),
            Field::new(RESENT, DataType::Boolean, false),
            s(FINISH_REASON, true),
            i32n(CACHED_TOKENS, true),
            i64n(FIRST_CONTENT_NS, true),
            i32n(REASONING_TOKENS, true),
            i64n(SESSION, true),
            i32n(TURN, true),
            i32n(BRANCH, true),
            i32n(SESSION_TURNS, true),
            i64n(CONNECT_NS, true),
            i64n(TLS_NS, true),
            i64n(BACKOFF_NS, true),
            s(ERROR_KIND, true),
            s(API, true),
            s(MODEL, true),
            i32n(INPUTS, true),
            s(TARGET, true),
            i32n(IMAGES, true),
            i64n(IMAGE_PIXELS, true),
            i64n(IMAGE_BYTES, true),
            i64n(BODY_BYTES, true),
            i32n(TOOLS, true),
            i32n(TOOL_CALLS, true),
            i64n(FIRST_TOOL_NS, true),
        ]))
    }

    pub fn batch(
        rows: &[RequestRow],
        phases: &[String],
        classes: &[String],
    ) -> Result<RecordBatch, String> {
        let n = rows.len();
        let mut id = Int64Builder::with_capacity(n);
        let mut phase = StringBuilder::new();
        let mut step = Int32Builder::with_capacity(n);
        let mut class = StringBuilder::new();
        let mut scheduled = Int64Builder::with_capacity(n);
        let mut sent = Int64Builder::with_capacity(n);
        let mut first = Int64Builder::with_capacity(n);
        let mut last = Int64Builder::with_capacity(n);
        let mut done = Int64Builder::with_capacity(n);
        let mut input = Int32Builder::with_capacity(n);
        let mut requested = Int32Builder::with_capacity(n);
        let mut prompt = Int32Builder::with_capacity(n);
        let mut output = Int32Builder::with_capacity(n);
        let mut chunks = Int32Builder::with_capacity(n);
        let mut status = StringBuilder::new();
        let mut http = Int32Builder::with_capacity(n);
        let mut error = StringBuilder::new();
        let mut group = Int32Builder::with_capacity(n);
        let mut uuid = StringBuilder::new();
        let mut reused = BooleanBuilder::with_capacity(n);
        let mut resent = BooleanBuilder::with_capacity(n);
        let mut finish = StringBuilder::new();
        let mut cached = Int32Builder::with_capacity(n);
        let mut first_content = Int64Builder::with_capacity(n);
        let mut reasoning = Int32Builder::with_capacity(n);
        let mut session = Int64Builder::with_capacity(n);
        let mut turn = Int32Builder::with_capacity(n);
        let mut branch = Int32Builder::with_capacity(n);
        let mut session_turns = Int32Builder::with_capacity(n);
        let mut connect = Int64Builder::with_capacity(n);
        let mut tls = Int64Builder::with_capacity(n);
        let mut backoff = Int64Builder::with_capacity(n);
        let mut error_kind = StringBuilder::new();
        let mut api = StringBuilder::new();
        let mut model = StringBuilder::new();
        let mut inputs = Int32Builder::with_capacity(n);
        let mut target = StringBuilder::new();
        let mut images = Int32Builder::with_capacity(n);
        let mut image_pixels = Int64Builder::with_capacity(n);
        let mut image_bytes = Int64Builder::with_capacity(n);
        let mut body_bytes = Int64Builder::with_capacity(n);
        let mut tools = Int32Builder::with_capacity(n);
        let mut tool_calls = Int32Builder::with_capacity(n);
        let mut first_tool = Int64Builder::with_capacity(n);
        let i64_of = |v: u64| v.min(i64::MAX as u64) as i64;
        let i32_of = |v: u32| v.min(i32::MAX as u32) as i32;
        for r in rows.iter() {
            id.append_value(i64_of(r.request_id));
            phase.append_value(
                phases
                    .get(r.phase as usize)
                    .map(String::as_str)
                    .unwrap_or("?"),
            );
            step.append_value(i32_of(r.step));
            class.append_value(
                classes
                    .get(r.class as usize)
                    .map(String::as_str)
                    .unwrap_or("?"),
            );
            scheduled.append_option(r.scheduled_ns.map(i64_of));
            sent.append_value(i64_of(r.sent_ns));
            first.append_option(r.first_token_ns.map(i64_of));
            last.append_option(r.last_token_ns.map(i64_of));
            done.append_value(i64_of(r.done_ns));
            input.append_value(i32_of(r.input_tokens));
            requested.append_value(i32_of(r.output_tokens_requested));
            prompt.append_option(r.prompt_tokens.map(i32_of));
            output.append_option(r.output_tokens.map(i32_of));
            chunks.append_value(i32_of(r.chunks));
            status.append_value(r.status.as_str());
            http.append_option(r.http_status.map(i32::from));
            error.append_option(r.error.as_deref());
            group.append_option(r.prefix_group.map(i32_of));
            uuid.append_option(r.request_uuid.as_deref());
            reused.append_option(r.conn_reused);
            resent.append_value(r.resent);
            finish.append_option(r.finish_reason.as_deref());
            cached.append_option(r.cached_tokens.map(i32_of));
            first_content.append_option(r.first_content_ns.map(i64_of));
            reasoning.append_option(r.reasoning_tokens.map(i32_of));
            session.append_option(r.session.map(i64_of));
            turn.append_option(r.turn.map(i32_of));
            branch.append_option(r.branch.map(i32_of));
            session_turns.append_option(r.session_turns.map(i32_of));
            connect.append_option(r.connect_ns.map(i64_of));
            tls.append_option(r.tls_ns.map(i64_of));
            backoff.append_option(r.backoff_ns.map(i64_of));
            error_kind.append_option(r.error_kind.map(|k| k.as_str()));
            api.append_option(r.api);
            model.append_option(r.model.as_deref());
            inputs.append_option(r.inputs.map(i32_of));
            target.append_option(r.target.as_deref());
            images.append_option(r.images.map(i32_of));
            image_pixels.append_option(r.image_pixels.map(i64_of));
            image_bytes.append_option(r.image_bytes.map(i64_of));
            body_bytes.append_option(r.body_bytes.map(i64_of));
            tools.append_option(r.tools.map(i32_of));
            tool_calls.append_option(r.tool_calls.map(i32_of));
            first_tool.append_option(r.first_tool_ns.map(i64_of));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(phase.finish()),
            Arc::new(step.finish()),
            Arc::new(class.finish()),
            Arc::new(scheduled.finish()),
            Arc::new(sent.finish()),
            Arc::new(first.finish()),
            Arc::new(last.finish()),
            Arc::new(done.finish()),
            Arc::new(input.finish()),
            Arc::new(requested.finish()),
            Arc::new(prompt.finish()),
            Arc::new(output.finish()),
            Arc::new(chunks.finish()),
            Arc::new(status.finish()),
            Arc::new(http.finish()),
            Arc::new(error.finish()),
            Arc::new(group.finish()),
            Arc::new(uuid.finish()),
            Arc::new(reused.finish()),
            Arc::new(resent.finish()),
            Arc::new(finish.finish()),
            Arc::new(cached.finish()),
            Arc::new(first_content.finish()),
            Arc::new(reasoning.finish()),
            Arc::new(session.finish()),
            Arc::new(turn.finish()),
            Arc::new(branch.finish()),
            Arc::new(session_turns.finish()),
            Arc::new(connect.finish()),
            Arc::new(tls.finish()),
            Arc::new(backoff.finish()),
            Arc::new(error_kind.finish()),
            Arc::new(api.finish()),
            Arc::new(model.finish()),
            Arc::new(inputs.finish()),
            Arc::new(target.finish()),
            Arc::new(images.finish()),
            Arc::new(image_pixels.finish()),
            Arc::new(image_bytes.finish()),
            Arc::new(body_bytes.finish()),
            Arc::new(tools.finish()),
            Arc::new(tool_calls.finish()),
            Arc::new(first_tool.finish()),
        ];
        RecordBatch::try_new(schema(), columns).map_err(|e| format!("requests batch: {e}"))
    }
}

/// `chunks`: one row per streamed chunk that carried generated text.
pub mod chunks {
    pub const REQUEST_ID: &str = "request_id";
    pub const SEQ: &str = "seq";
    pub const AT_NS: &str = "at_ns";
    pub const TOKENS: &str = "tokens";
    pub const BYTES: &str = "bytes";
    pub const REASONING: &str = "reasoning";

    use std::sync::Arc;

    use arrow_array::builder::{BooleanBuilder, Int32Builder, Int64Builder};
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Schema, SchemaRef};

    use crate::rundir::record::ChunkRow;

    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(REQUEST_ID, DataType::Int64, false),
            Field::new(SEQ, DataType::Int32, false),
            Field::new(AT_NS, DataType::Int64, false),
            Field::new(TOKENS, DataType::Int32, false),
            Field::new(BYTES, DataType::Int32, false),
            Field::new(REASONING, DataType::Boolean, false),
        ]))
    }

    pub fn batch(rows: &[ChunkRow]) -> Result<RecordBatch, String> {
        let n = rows.len();
        let mut id = Int64Builder::with_capacity(n);
        let mut seq = Int32Builder::with_capacity(n);
        let mut at = Int64Builder::with_capacity(n);
        let mut tokens = Int32Builder::with_capacity(n);
        let mut bytes = Int32Builder::with_capacity(n);
        let mut reasoning = BooleanBuilder::with_capacity(n);
        for c in rows.iter() {
            id.append_value(c.request_id.min(i64::MAX as u64) as i64);
            seq.append_value(c.seq.min(i32::MAX as u32) as i32);
            at.append_value(c.at_ns.min(i64::MAX as u64) as i64);
            tokens.append_value(c.tokens.min(i32::MAX as u32) as i32);
            bytes.append_value(c.bytes.min(i32::MAX as u32) as i32);
            reasoning.append_value(c.reasoning);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(id.finish()),
            Arc::new(seq.finish()),
            Arc::new(at.finish()),
            Arc::new(tokens.finish()),
            Arc::new(bytes.finish()),
            Arc::new(reasoning.finish()),
        ];
        RecordBatch::try_new(schema(), columns).map_err(|e| format!("chunks batch: {e}"))
    }
}

/// `server_metrics`: one row per sample of the server's Prometheus metrics.
pub mod server_metrics {
    pub const AT_NS: &str = "at_ns";
    pub const NAME: &str = "name";
    pub const LABELS: &str = "labels";
    pub const VALUE: &str = "value";
    pub const TARGET: &str = "target";

    use std::sync::Arc;

    use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Schema, SchemaRef};

    use crate::rundir::record::MetricRow;

    pub fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(AT_NS, DataType::Int64, false),
            Field::new(NAME, DataType::Utf8, false),
            Field::new(LABELS, DataType::Utf8, false),
            Field::new(VALUE, DataType::Float64, false),
            Field::new(TARGET, DataType::Utf8, true),
        ]))
    }

    pub fn batch(rows: &[MetricRow]) -> Result<RecordBatch, String> {
        let n = rows.len();
        let mut at = Int64Builder::with_capacity(n);
        let mut name = StringBuilder::new();
        let mut labels = StringBuilder::new();
        let mut value = Float64Builder::with_capacity(n);
        let mut target = StringBuilder::new();
        for r in rows {
            at.append_value(r.at_ns.min(i64::MAX as u64) as i64);
            name.append_value(&r.name);
            labels.append_value(&r.labels);
            value.append_value(r.value);
            target.append_option(r.target.as_deref());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(at.finish()),
            Arc::new(name.finish()),
            Arc::new(labels.finish()),
            Arc::new(value.finish()),
            Arc::new(target.finish()),
        ];
        RecordBatch::try_new(schema(), columns).map_err(|e| format!("metrics batch: {e}"))
    }
}
