//! The simulator's continuous-batching engine: a step loop over running sequences, a FCFS
//! waiting queue bounded by `max_seqs` and KV capacity, chunked prefill, and a prefix cache.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::profile::Profile;

/// What a sequence reports back to its HTTP handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Admitted: this many prompt tokens came from the prefix cache.
    Cached(u32),
    /// One generated token.
    Token,
    /// Generation finished (`stopped`: a natural stop rather than the length limit).
    Done { stopped: bool },
}

/// A request handed to the engine.
#[derive(Debug)]
pub struct Job {
    pub prompt_tokens: u32,
    /// Hashes of the prompt's leading full blocks, for the prefix cache.
    pub blocks: Vec<u64>,
    /// Hashes of the full blocks of the prompt followed by the answer's text: cached when the
    /// answer is complete, as vLLM's and SGLang's caches keep generated blocks, so a
    /// conversation that sends the real reply back hits it.
    pub answer_blocks: Vec<u64>,
    pub output_tokens: u32,
    pub stopped: bool,
    /// Its model's cost: its share of a step's per-sequence and per-prefill-token time.
    pub cost: f64,
    pub events: mpsc::UnboundedSender<Event>,
}

/// The engine's state as Prometheus gauges and counters (`GET /metrics`).
#[derive(Debug, Default)]
pub struct Gauges {
    pub running: AtomicU64,
    pub waiting: AtomicU64,
    pub kv_used: AtomicU64,
    pub prompt_tokens: AtomicU64,
    pub cached_tokens: AtomicU64,
    pub generated_tokens: AtomicU64,
    pub finished: AtomicU64,
}

struct Seq {
    job: Job,
    to_prefill: u64,
    generated: u32,
    reserved: u64,
}

/// Runs the step loop until every job sender is gone.
pub async fn run(profile: Profile, mut jobs: mpsc::UnboundedReceiver<Job>, gauges: Arc<Gauges>) {
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut running: Vec<Seq> = Vec::new();
    let mut kv_used: u64 = 0;
    let mut cache = PrefixCache::new(
        (profile.kv_capacity / profile.block_tokens.max(1) as u64).min(1 << 22) as usize,
    );
    let mut steps: u64 = 0;
    loop {
        if running.is_empty() && waiting.is_empty() {
            match jobs.recv().await {
                Some(job) => waiting.push_back(job),
                None => return,
            }
        }
        while let Ok(job) = jobs.try_recv() {
            waiting.push_back(job);
        }
        // Admit FCFS while the batch and the KV cache have room.
        while let Some(job) = waiting.front() {
            let need = job.prompt_tokens as u64 + job.output_tokens as u64;
            let fits = running.len() < profile.max_seqs as usize
                && (kv_used + need <= profile.kv_capacity || running.is_empty());
            if !fits {
                break;
            }
            let Some(job) = waiting.pop_front() else {
                break;
            };
            let cached = cache.hit_blocks(&job.blocks) as u64 * profile.block_tokens as u64;
            let to_prefill = (job.prompt_tokens as u64).saturating_sub(cached).max(1);
            let hit = job.prompt_tokens as u64 - to_prefill;
            let _ = job.events.send(Event::Cached(hit as u32));
            gauges
                .prompt_tokens
                .fetch_add(job.prompt_tokens as u64, Ordering::Relaxed);
            gauges.cached_tokens.fetch_add(hit, Ordering::Relaxed);
            kv_used += need;
            running.push(Seq {
                job,
                to_prefill,
                generated: 0,
                reserved: need,
            });
        }

        gauges
            .running
            .store(running.len() as u64, Ordering::Relaxed);
        gauges
            .waiting
            .store(waiting.len() as u64, Ordering::Relaxed);
        gauges.kv_used.store(kv_used, Ordering::Relaxed);

        // Plan the step: decoders emit a token; prefill takes the budget in admission order.
        let decoding: f64 = running
            .iter()
            .filter(|s| s.to_prefill == 0)
            .map(|s| s.job.cost)
            .sum();
        let mut budget = profile.prefill_budget as u64;
        let mut prefill_tokens = 0.0;
        for s in running.iter_mut() {
            if s.to_prefill > 0 && budget > 0 {
                let take = s.to_prefill.min(budget);
                budget -= take;
                prefill_tokens += take as f64 * s.job.cost;
                s.to_prefill -= take;
            }
        }
        let seconds = profile.step_seconds(decoding, prefill_tokens, kv_used);
        if seconds > 0.0 {
            tokio::time::sleep_until(Instant::now() + Duration::from_secs_f64(seconds)).await;
        } else {
            steps += 1;
            if steps.is_multiple_of(64) {
                tokio::task::yield_now().await;
            }
        }

        // Emit: every sequence that was decoding, and those whose prefill just completed (the
        // prefill step produces the first token).
        for s in running.iter_mut() {
            if s.to_prefill > 0 {
                continue;
            }
            if s.generated == 0 {
                cache.insert(&s.job.blocks);
            }
            s.generated += 1;
            gauges.generated_tokens.fetch_add(1, Ordering::Relaxed);
            if s.job.events.send(Event::Token).is_err() {
                s.generated = u32::MAX; // the client went away: free it below
            }
        }
        running.retain(|s| {
            let done = s.generated >= s.job.output_tokens;
            if done {
                if s.generated != u32::MAX {
                    cache.insert(&s.job.answer_blocks);
                    let _ = s.job.events.send(Event::Done {
                        stopped: s.job.stopped,
                    });
                }
                kv_used -= s.reserved;
                gauges.finished.fetch_add(1, Ordering::Relaxed);
            }
            !done
        });
        if running.is_empty() && waiting.is_empty() {
            gauges.running.store(0, Ordering::Relaxed);
            gauges.kv_used.store(0, Ordering::Relaxed);
        }
    }
}

/// Which prompt blocks the server holds: a bounded set with first-in-first-out eviction.
struct PrefixCache {
    set: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl PrefixCache {
    fn new(capacity: usize) -> PrefixCache {
        PrefixCache {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Leading blocks already cached (a block counts only if all before it do).
    fn hit_blocks(&self, blocks: &[u64]) -> usize {
        blocks.iter().take_while(|b| self.set.contains(b)).count()
    }

    fn insert(&mut self, blocks: &[u64]) {
        for b in blocks {
            if self.set.insert(*b) {
                self.order.push_back(*b);
                if self.order.len() > self.capacity {
                    if let Some(old) = self.order.pop_front() {
                        self.set.remove(&old);
                    }
                }
            }
        }
    }
}
