//! ImageLocality: favours nodes that already hold the Pod's images, weighted by image size and
//! by how widely the image is spread (an image on every node says little), between 23 MB and
//! 1000 MB per container.

use std::collections::BTreeMap;

use crate::scheduler::framework::{CycleState, NodeBatch, Plugin, PreScorePlugin, ScorePlugin, Status};
use crate::scheduler::limits::{IMAGE_MAX_CONTAINER_THRESHOLD_BYTES, IMAGE_MIN_THRESHOLD_BYTES, MAX_NODE_SCORE};
use crate::scheduler::node_info::{NodeInfo, PodInfo, normalized_image_name};
use crate::scheduler::snapshot::Snapshot;

/// The plugin's registered name.
pub const NAME: &str = "ImageLocality";

/// Scores nodes by the images they hold.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImageLocality;

/// The Pod's images (init containers first, one entry per container) with how many nodes hold
/// each, and the node count: what Kubernetes reads from the snapshot lister.
#[derive(Clone)]
struct PreScoreState {
    images: Vec<(String, usize)>,
    total_nodes: usize,
}

/// The score from the summed image scores: clamped between the thresholds and scaled to
/// `[0, 100]` (`calculatePriority`).
pub fn calculate_priority(sum_scores: i64, container_count: usize) -> i64 {
    let max_threshold = IMAGE_MAX_CONTAINER_THRESHOLD_BYTES * container_count as i64;
    if max_threshold <= IMAGE_MIN_THRESHOLD_BYTES {
        return 0;
    }
    let sum = sum_scores.clamp(IMAGE_MIN_THRESHOLD_BYTES, max_threshold);
    MAX_NODE_SCORE * (sum - IMAGE_MIN_THRESHOLD_BYTES) / (max_threshold - IMAGE_MIN_THRESHOLD_BYTES)
}

/// An image's size scaled by the share of nodes that hold it (`scaledImageScore`).
pub fn scaled_image_score(size_bytes: i64, node_count: usize, total_nodes: usize) -> i64 {
    if total_nodes == 0 {
        return 0;
    }
    (size_bytes as f64 * (node_count as f64 / total_nodes as f64)) as i64
}

impl PreScoreState {
    /// One node's score: the Pod's images present there, scaled by their spread.
    fn score(&self, node: &NodeInfo) -> i64 {
        if node.image_sizes.is_empty() {
            return calculate_priority(0, self.images.len());
        }
        let sum: i64 = self
            .images
            .iter()
            .filter_map(|(image, count)| {
                node.image_sizes.get(image).map(|size| scaled_image_score(*size, *count, self.total_nodes))
            })
            .sum();
        calculate_priority(sum, self.images.len())
    }
}

impl Plugin for ImageLocality {
    fn name(&self) -> &'static str {
        NAME
    }
    fn as_pre_score(&self) -> Option<&dyn PreScorePlugin> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn ScorePlugin> {
        Some(self)
    }
}

impl PreScorePlugin for ImageLocality {
    fn pre_score(&self, state: &mut CycleState, pod: &PodInfo, _: &[&NodeInfo], snapshot: &Snapshot) -> Status {
        let spec = pod.spec();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let images = spec
            .init_containers
            .iter()
            .flatten()
            .chain(&spec.containers)
            .map(|container| {
                let image = normalized_image_name(container.image.as_deref().unwrap_or(""));
                let count = *counts.entry(image.clone()).or_insert_with(|| snapshot.image_node_count(&image));
                (image, count)
            })
            .collect();
        state.write(NAME, PreScoreState { images, total_nodes: snapshot.len() });
        Status::success()
    }
}

impl ScorePlugin for ImageLocality {
    fn score(&self, state: &CycleState, _pod: &PodInfo, node: &NodeInfo) -> Result<i64, Status> {
        let Some(pre_score) = state.read::<PreScoreState>(NAME) else {
            return Err(Status::error("ImageLocality: its PreScore must run before Score"));
        };
        Ok(pre_score.score(node))
    }

    fn score_nodes(
        &self,
        state: &CycleState,
        _pod: &PodInfo,
        batch: &NodeBatch<'_>,
        scores: &mut Vec<i64>,
    ) -> Result<(), Status> {
        let Some(pre_score) = state.read::<PreScoreState>(NAME) else {
            return Err(Status::error("ImageLocality: its PreScore must run before Score"));
        };
        if pre_score.images.iter().all(|(_, count)| *count == 0) {
            // No node holds any of the Pod's images: every node scores as one without them,
            // and no NodeInfo needs reading.
            let score = calculate_priority(0, pre_score.images.len());
            scores.extend(std::iter::repeat_n(score, batch.len()));
        } else {
            scores.extend(batch.nodes().iter().map(|node| pre_score.score(node)));
        }
        Ok(())
    }
}
