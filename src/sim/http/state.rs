//! What every request of the simulator shares: the model, profile, faults and behaviour, the
//! batcher's job queue, counters and gauges, and the timings kept.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::timing::Timings;
use crate::sim::batcher::{Gauges, Job};
use crate::sim::behaviour::Behaviour;
use crate::sim::faults::Faults;
use crate::sim::profile::Profile;

pub struct State {
    /// Set with `--record-timings`: every streamed request's server-side timing.
    pub timings: Option<Timings>,
    pub model: String,
    pub profile: Profile,
    pub faults: Faults,
    pub behaviour: Behaviour,
    pub jobs: mpsc::UnboundedSender<Job>,
    /// Completion requests taken in.
    pub counter: AtomicU64,
    pub connections: AtomicU64,
    pub gauges: Arc<Gauges>,
    /// The number of the newest completion request (`interrupt_on_new_request`).
    pub newest: tokio::sync::watch::Sender<u64>,
}
