//! The network between each component's host and the API server: a latency range and a loss
//! probability per link, partitions in either direction, and first-in-first-out delivery on each
//! direction of a link (as on one TCP connection), all drawn from the run's seeded generator.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::queue::Millis;
use crate::scenario::{LatencySpec, NetworkSpec, PartitionDirection};

/// How long a component waits for an answer before it gives up on a request (status 0): 10 s,
/// client-go's typical request timeout for controllers and the kubelet's node-status timeout.
pub const REQUEST_TIMEOUT_MILLIS: Millis = 10_000;

/// One host's link to the API server.
#[derive(Clone, Debug)]
pub struct Link {
    latency_min: Millis,
    latency_max: Millis,
    loss: f64,
    partition: Option<PartitionDirection>,
    /// The latest delivery time scheduled towards the API server, and towards the host.
    last_to_api: Millis,
    last_to_host: Millis,
}

impl Link {
    /// A healthy link with the scenario's latency and loss.
    pub fn new(spec: &NetworkSpec) -> Link {
        let mut link =
            Link { latency_min: 0, latency_max: 0, loss: 0.0, partition: None, last_to_api: 0, last_to_host: 0 };
        link.set_latency(spec.latency);
        link.set_loss(spec.loss);
        link
    }

    /// Changes the latency range.
    pub fn set_latency(&mut self, latency: LatencySpec) {
        self.latency_min = latency.min.as_millis();
        self.latency_max = latency.max.as_millis().max(self.latency_min);
    }

    /// Changes the loss probability (clamped to 0..=1).
    pub fn set_loss(&mut self, loss: f64) {
        self.loss = if loss.is_finite() { loss.clamp(0.0, 1.0) } else { 0.0 };
    }

    /// Cuts the link in one or both directions.
    pub fn partition(&mut self, direction: PartitionDirection) {
        self.partition = Some(direction);
    }

    /// Heals a partition.
    pub fn heal(&mut self) {
        self.partition = None;
    }

    /// Whether the link is cut in any direction.
    pub fn is_partitioned(&self) -> bool {
        self.partition.is_some()
    }

    /// Whether a message from the host reaches the API server now (no partition that way, and
    /// not lost).
    pub fn reaches_api(&self, rng: &mut ChaCha8Rng) -> bool {
        !matches!(self.partition, Some(PartitionDirection::Both | PartitionDirection::ToApi)) && !self.lost(rng)
    }

    /// Whether a message from the API server reaches the host now.
    pub fn reaches_host(&self, rng: &mut ChaCha8Rng) -> bool {
        !matches!(self.partition, Some(PartitionDirection::Both | PartitionDirection::FromApi)) && !self.lost(rng)
    }

    /// Whether watch frames flow: any cut breaks a long-lived connection.
    pub fn carries_watches(&self) -> bool {
        self.partition.is_none()
    }

    /// When a message sent now towards the API server arrives: a latency draw, never before a
    /// message sent earlier on the same direction.
    pub fn arrival_at_api(&mut self, now: Millis, rng: &mut ChaCha8Rng) -> Millis {
        let at = (now + self.draw(rng)).max(self.last_to_api);
        self.last_to_api = at;
        at
    }

    /// When a message sent now towards the host arrives.
    pub fn arrival_at_host(&mut self, now: Millis, rng: &mut ChaCha8Rng) -> Millis {
        let at = (now + self.draw(rng)).max(self.last_to_host);
        self.last_to_host = at;
        at
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> Millis {
        if self.latency_max == self.latency_min {
            self.latency_min
        } else {
            rng.random_range(self.latency_min..=self.latency_max)
        }
    }

    fn lost(&self, rng: &mut ChaCha8Rng) -> bool {
        // No draw on a lossless link, so adding loss to one link leaves the others' draws alone.
        self.loss > 0.0 && rng.random_bool(self.loss)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::duration::SimDuration;

    fn spec(min: u64, max: u64) -> NetworkSpec {
        NetworkSpec {
            latency: LatencySpec {
                min: SimDuration(std::time::Duration::from_millis(min)),
                max: SimDuration(std::time::Duration::from_millis(max)),
            },
            loss: 0.0,
        }
    }

    #[test]
    fn messages_on_one_direction_never_overtake_each_other() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut link = Link::new(&spec(1, 50));
        let mut last = 0;
        for now in 0..1_000 {
            let at = link.arrival_at_host(now, &mut rng);
            assert!(at >= last && at > now, "{at} after {last} at {now}");
            last = at;
        }
    }

    #[test]
    fn partitions_cut_the_named_direction_only() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut link = Link::new(&spec(1, 1));
        link.partition(PartitionDirection::FromApi);
        assert!(link.reaches_api(&mut rng) && !link.reaches_host(&mut rng) && !link.carries_watches());
        link.partition(PartitionDirection::ToApi);
        assert!(!link.reaches_api(&mut rng) && link.reaches_host(&mut rng));
        link.heal();
        assert!(link.reaches_api(&mut rng) && link.reaches_host(&mut rng) && link.carries_watches());
    }

    #[test]
    fn total_loss_loses_everything_and_no_loss_nothing() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut link = Link::new(&spec(1, 1));
        link.set_loss(1.0);
        assert!((0..100).all(|_| !link.reaches_api(&mut rng)));
        link.set_loss(f64::NAN);
        assert!((0..100).all(|_| link.reaches_api(&mut rng)));
    }
}
