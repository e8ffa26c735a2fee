//! The production components as the simulator builds them: the same constructors, seeded from
//! the run's seed.

use coxswain_core::scheduler::component::SchedulerComponent;
use coxswain_core::scheduler::{Registry, SamplingOptions, Scheduler, SchedulerConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator stream the scheduler breaks ties with.
const SCHEDULER_STREAM: u64 = 3;

/// kube-scheduler with the default profile.
pub fn scheduler(seed: u64) -> SchedulerComponent {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(SCHEDULER_STREAM);
    // The default profile is built into the binary; failing to build it is a bug, not input.
    let mut scheduler =
        Scheduler::new(&SchedulerConfig::default(), &Registry::in_tree(), rng, SamplingOptions::default())
            .expect("the default scheduler profile builds");
    // The engine traces every placement from the attempts.
    scheduler.keep_attempts();
    SchedulerComponent::new(scheduler)
}
