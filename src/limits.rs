//! What one llmw process plans and runs at most. The checker reports a workload over a limit as
//! a diagnostic with its span; the compiler and the trace readers enforce the same numbers.

/// The longest prompt or answer, in tokens.
pub const MAX_LENGTH: u32 = 1 << 20;
/// The most requests one plan may hold in memory.
pub const MAX_PLANNED: u64 = 20_000_000;
/// The most virtual users one closed-loop phase may run (each is a task and a connection).
pub const MAX_USERS: u32 = 100_000;
/// `steps(...)` may have at most this many values (they are encoded in request ids).
pub const MAX_STEPS: usize = 1000;
/// The largest count the language takes (`limit`, `requests`, `block`, …): an integer an f64
/// holds exactly.
pub const MAX_COUNT: u64 = 9_000_000_000_000_000;

/// Turns in one conversation (`session { turns = ... }`), at most.
pub const MAX_TURNS: u32 = 10_000;
/// Inputs of one embeddings request at most (OpenAI's limit).
pub const MAX_INPUTS: u32 = 2048;
/// Images in one request at most (`images = DIST`, draws kept within).
pub const MAX_IMAGES: u32 = 64;
/// The widest or tallest synthetic image, in pixels (`image_size = "WxH"`).
pub const MAX_IMAGE_SIDE: u32 = 8192;
/// Tool definitions one request carries at most (OpenAI's limit).
pub const MAX_TOOLS: u32 = 128;
/// Parallel requests at one turn of a conversation (`fanout`), at most.
pub const MAX_FANOUT: u32 = 256;

/// The most parts a plan is dealt into (`--shard I/N`), and that a run's manifest may say.
pub const MAX_SHARDS: u32 = 100_000;
