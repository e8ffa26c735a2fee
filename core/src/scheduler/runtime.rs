//! One profile's framework: its plugins built from the registry and arranged per extension
//! point (MultiPoint expanded as kube-scheduler 1.32 does), and the `run_*` functions that call
//! them in order, attribute their statuses and apply score weights.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1 as core;

use super::framework::{
    BindDecision, ClusterEvent, Code, CycleState, FilterPlugin, FilterRunner, NodeBatch, NodeToStatus,
    NominatedScratch, Plugin, PostFilterContext, PostFilterResult, PreBindWrite, PreFilterPlugin, PreFilterResult,
    Status,
};
use super::limits::{MAX_NODE_SCORE, MIN_NODE_SCORE};
use super::listers::ClusterObjects;
use super::node_info::{NodeInfo, PodInfo};
use super::nominated_pods::NominatedPods;
use super::nominator::Nominator;
use super::profile::{PluginSet, Plugins, Profile};
use super::registry::{Registry, RegistryError};
use super::snapshot::Snapshot;

/// A score plugin and its weight.
#[derive(Clone, Debug)]
struct WeightedPlugin {
    plugin: Arc<dyn Plugin>,
    weight: i64,
}

/// One plugin's weighted score for one node, for traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginScore {
    /// The plugin.
    pub plugin: &'static str,
    /// Its normalized score times its weight.
    pub score: i64,
}

/// Every score plugin's result for the feasible nodes, aligned with them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeScores {
    /// The sum of weighted scores, per node.
    pub totals: Vec<i64>,
    /// Per plugin (in profile order): its name and weighted score per node.
    pub per_plugin: Vec<(&'static str, Vec<i64>)>,
}

/// A profile's plugins arranged per extension point.
#[derive(Clone, Debug)]
pub struct Framework {
    scheduler_name: String,
    percentage_of_nodes_to_score: Option<u32>,
    pre_enqueue: Vec<Arc<dyn Plugin>>,
    queue_sort: Option<Arc<dyn Plugin>>,
    pre_filter: Vec<Arc<dyn Plugin>>,
    filter: Vec<Arc<dyn Plugin>>,
    post_filter: Vec<Arc<dyn Plugin>>,
    pre_score: Vec<Arc<dyn Plugin>>,
    score: Vec<WeightedPlugin>,
    reserve: Vec<Arc<dyn Plugin>>,
    permit: Vec<Arc<dyn Plugin>>,
    pre_bind: Vec<Arc<dyn Plugin>>,
    bind: Vec<Arc<dyn Plugin>>,
    events: BTreeMap<&'static str, Vec<ClusterEvent>>,
    /// One bit per plugin of `pre_filter` (a plugin's bit is the same at every point: by name
    /// order, the first 64; 0 past them), for the cycle state's skip checks.
    pre_filter_bits: Vec<u64>,
    /// The bits of the plugins of `filter`.
    filter_bits: Vec<u64>,
}

/// Whether a plugin implements the point named as Kubernetes names its interface.
fn implements(plugin: &dyn Plugin, point: &str) -> bool {
    match point {
        "PreEnqueuePlugin" => plugin.as_pre_enqueue().is_some(),
        "QueueSortPlugin" => plugin.as_queue_sort().is_some(),
        "PreFilterPlugin" => plugin.as_pre_filter().is_some(),
        "FilterPlugin" => plugin.as_filter().is_some(),
        "PostFilterPlugin" => plugin.as_post_filter().is_some(),
        "PreScorePlugin" => plugin.as_pre_score().is_some(),
        "ScorePlugin" => plugin.as_score().is_some(),
        "ReservePlugin" => plugin.as_reserve().is_some(),
        "PermitPlugin" => plugin.as_permit().is_some(),
        "PreBindPlugin" => plugin.as_pre_bind().is_some(),
        "BindPlugin" => plugin.as_bind().is_some(),
        _ => false,
    }
}

/// The plugin names of one point after MultiPoint expansion (`expandMultiPointPlugins`):
/// explicitly re-configured MultiPoint plugins first, then MultiPoint plugins, then the point's
/// own.
fn expand_point(
    point: &'static str,
    set: &PluginSet,
    multi_point: &PluginSet,
    instances: &BTreeMap<String, Arc<dyn Plugin>>,
) -> Result<Vec<String>, RegistryError> {
    let mut explicit: Vec<String> = Vec::new();
    for plugin in &set.enabled {
        let instance = &instances[&plugin.name];
        if !implements(instance.as_ref(), point) {
            return Err(RegistryError::PluginDoesNotExtend { plugin: plugin.name.clone(), point });
        }
        if explicit.contains(&plugin.name) {
            return Err(RegistryError::AlreadyRegistered { plugin: plugin.name.clone(), point });
        }
        explicit.push(plugin.name.clone());
    }
    if set.disabled.iter().any(|plugin| plugin.name == "*") {
        return Ok(explicit);
    }
    let mut overrides = BTreeSet::new();
    let mut from_multi_point: Vec<String> = Vec::new();
    for plugin in &multi_point.enabled {
        if !implements(instances[&plugin.name].as_ref(), point)
            || set.disabled.iter().any(|disabled| disabled.name == plugin.name)
        {
            continue;
        }
        if explicit.contains(&plugin.name) {
            overrides.insert(plugin.name.clone());
            continue;
        }
        if from_multi_point.contains(&plugin.name) {
            return Err(RegistryError::AlreadyRegistered { plugin: plugin.name.clone(), point });
        }
        from_multi_point.push(plugin.name.clone());
    }
    let (first, rest): (Vec<String>, Vec<String>) = explicit.into_iter().partition(|name| overrides.contains(name));
    Ok(first.into_iter().chain(from_multi_point).chain(rest).collect())
}

impl Framework {
    /// Builds a profile's framework: instantiates each plugin it names once, with its args.
    pub fn new(registry: &Registry, profile: &Profile) -> Result<Framework, RegistryError> {
        let mut plugins: Plugins = profile.plugins.clone();
        let mut instances: BTreeMap<String, Arc<dyn Plugin>> = BTreeMap::new();
        for (_, set) in plugins.points_mut() {
            for plugin in &set.enabled {
                if !instances.contains_key(&plugin.name) {
                    let instance = registry.build(&plugin.name, profile.plugin_config.get(&plugin.name))?;
                    instances.insert(plugin.name.clone(), instance);
                }
            }
        }
        let multi_point = plugins.multi_point.clone();
        let resolve = |point: &'static str, set: &PluginSet| -> Result<Vec<Arc<dyn Plugin>>, RegistryError> {
            let names = expand_point(point, set, &multi_point, &instances)?;
            Ok(names.iter().map(|name| Arc::clone(&instances[name])).collect())
        };
        let queue_sort = resolve("QueueSortPlugin", &plugins.queue_sort)?;
        let score_plugins = resolve("ScorePlugin", &plugins.score)?;
        let mut weights: BTreeMap<&str, i64> = BTreeMap::new();
        for plugin in plugins.score.enabled.iter().chain(&multi_point.enabled) {
            weights.entry(plugin.name.as_str()).or_insert(plugin.weight.filter(|weight| *weight > 0).unwrap_or(1));
        }
        let score = score_plugins
            .into_iter()
            .map(|plugin| {
                let weight = weights.get(plugin.name()).copied().unwrap_or(1);
                WeightedPlugin { plugin, weight }
            })
            .collect();
        let mut framework = Framework {
            scheduler_name: profile.scheduler_name.clone(),
            percentage_of_nodes_to_score: profile.percentage_of_nodes_to_score,
            pre_enqueue: resolve("PreEnqueuePlugin", &plugins.pre_enqueue)?,
            queue_sort: queue_sort.into_iter().next(),
            pre_filter: resolve("PreFilterPlugin", &plugins.pre_filter)?,
            filter: resolve("FilterPlugin", &plugins.filter)?,
            post_filter: resolve("PostFilterPlugin", &plugins.post_filter)?,
            pre_score: resolve("PreScorePlugin", &plugins.pre_score)?,
            score,
            reserve: resolve("ReservePlugin", &plugins.reserve)?,
            permit: resolve("PermitPlugin", &plugins.permit)?,
            pre_bind: resolve("PreBindPlugin", &plugins.pre_bind)?,
            bind: resolve("BindPlugin", &plugins.bind)?,
            events: BTreeMap::new(),
            pre_filter_bits: Vec::new(),
            filter_bits: Vec::new(),
        };
        if framework.bind.is_empty() {
            return Err(RegistryError::MissingPlugin { point: "BindPlugin" });
        }
        if framework.queue_sort.is_none() {
            return Err(RegistryError::MissingPlugin { point: "QueueSortPlugin" });
        }
        framework.events = instances.values().map(|plugin| (plugin.name(), plugin.events_to_register())).collect();
        let names: BTreeSet<&'static str> = instances.values().map(|plugin| plugin.name()).collect();
        let bits: BTreeMap<&'static str, u64> = names
            .into_iter()
            .enumerate()
            .map(|(index, name)| (name, 1u64.checked_shl(index as u32).unwrap_or(0)))
            .collect();
        let bits_of = |plugins: &[Arc<dyn Plugin>]| -> Vec<u64> {
            plugins.iter().map(|plugin| bits.get(plugin.name()).copied().unwrap_or(0)).collect()
        };
        framework.pre_filter_bits = bits_of(&framework.pre_filter);
        framework.filter_bits = bits_of(&framework.filter);
        Ok(framework)
    }

    /// The scheduler name this profile serves.
    pub fn scheduler_name(&self) -> &str {
        &self.scheduler_name
    }

    /// The profile's share of nodes to score, if set.
    pub fn percentage_of_nodes_to_score(&self) -> Option<u32> {
        self.percentage_of_nodes_to_score
    }

    /// The QueueSort plugin.
    pub fn queue_sort(&self) -> Option<&Arc<dyn Plugin>> {
        self.queue_sort.as_ref()
    }

    /// Whether any Filter plugin is configured.
    pub fn has_filter_plugins(&self) -> bool {
        !self.filter.is_empty()
    }

    /// Whether any Score plugin is configured.
    pub fn has_score_plugins(&self) -> bool {
        !self.score.is_empty()
    }

    /// Names of the plugins at each point, for display and tests.
    pub fn plugin_names(&self) -> BTreeMap<&'static str, Vec<String>> {
        let names = |plugins: &[Arc<dyn Plugin>]| plugins.iter().map(|plugin| plugin.name().to_owned()).collect();
        let mut points = BTreeMap::new();
        points.insert("preEnqueue", names(&self.pre_enqueue));
        points.insert("queueSort", names(self.queue_sort.as_slice()));
        points.insert("preFilter", names(&self.pre_filter));
        points.insert("filter", names(&self.filter));
        points.insert("postFilter", names(&self.post_filter));
        points.insert("preScore", names(&self.pre_score));
        points.insert(
            "score",
            self.score.iter().map(|scored| format!("{}:{}", scored.plugin.name(), scored.weight)).collect(),
        );
        points.insert("reserve", names(&self.reserve));
        points.insert("permit", names(&self.permit));
        points.insert("preBind", names(&self.pre_bind));
        points.insert("bind", names(&self.bind));
        points
    }

    /// The events each plugin registered, by plugin name.
    pub fn events_to_register(&self) -> &BTreeMap<&'static str, Vec<ClusterEvent>> {
        &self.events
    }

    /// Runs every PreEnqueue plugin (`RunPreEnqueuePlugins`): the first that does not succeed
    /// keeps the Pod out of the active queue; its status is attributed to it.
    pub fn run_pre_enqueue(&self, pod: &PodInfo) -> Status {
        for plugin in &self.pre_enqueue {
            let Some(pre_enqueue) = plugin.as_pre_enqueue() else { continue };
            let status = pre_enqueue.pre_enqueue(pod);
            if !status.is_success() {
                return status.with_plugin(plugin.name());
            }
        }
        Status::success()
    }

    /// Runs every PreFilter. Returns the merged node narrowing, the status (a rejection carries
    /// its plugin) and the plugins that narrowed the nodes.
    pub fn run_pre_filter(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        snapshot: &Snapshot,
    ) -> (PreFilterResult, Status, Vec<&'static str>) {
        let mut result = PreFilterResult::default();
        let mut narrowing = Vec::new();
        for (plugin, bit) in self.pre_filter.iter().zip(&self.pre_filter_bits) {
            let Some(pre_filter) = plugin.as_pre_filter() else { continue };
            let (plugin_result, status) = pre_filter.pre_filter(state, pod, snapshot);
            if status.is_skip() {
                state.skip_filter(plugin.name(), *bit);
                continue;
            }
            if !status.is_success() {
                let status = if status.is_rejected() { status } else { Status::error(status.message()) };
                return (result, status.with_plugin(plugin.name()), narrowing);
            }
            if let Some(plugin_result) = plugin_result.filter(|result| !result.all_nodes()) {
                narrowing.push(plugin.name());
                result = result.merge(plugin_result);
                if result.node_names.as_ref().is_some_and(|names| names.is_empty()) {
                    let message = if narrowing.len() == 1 {
                        format!("node(s) didn't satisfy plugin {}", narrowing[0])
                    } else {
                        format!("node(s) didn't satisfy plugin(s) [{}] simultaneously", narrowing.join(" "))
                    };
                    return (result, Status::new(Code::UnschedulableAndUnresolvable, message), narrowing);
                }
            }
        }
        (result, Status::success(), narrowing)
    }

    /// Runs the Filters on one node; the first that does not succeed decides, attributed.
    pub fn run_filter(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        run_filter_list(&self.active_filters(state), state, pod, node)
    }

    /// The Filters this cycle runs (those whose PreFilter did not Skip), resolved once per cycle
    /// rather than once per node.
    pub fn active_filters(&self, state: &CycleState) -> Vec<(&'static str, &dyn FilterPlugin)> {
        self.filter
            .iter()
            .zip(&self.filter_bits)
            .filter(|(plugin, bit)| !state.skips_filter_bit(plugin.name(), **bit))
            .map(|(plugin, _)| plugin)
            .filter_map(|plugin| plugin.as_filter().map(|filter| (plugin.name(), filter)))
            .collect()
    }

    /// Runs the PostFilters until one succeeds; otherwise their messages joined. `nominated` is
    /// the attempt's table of the nominated Pods it counts; `random` is a draw from the
    /// scheduler's seeded generator.
    #[allow(clippy::too_many_arguments)]
    pub fn run_post_filter(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        statuses: &NodeToStatus,
        snapshot: &Snapshot,
        nominator: &Nominator,
        nominated: &NominatedPods,
        random: u64,
    ) -> (Option<PostFilterResult>, Status) {
        let context = PostFilterContext { snapshot, filters: self, nominator, nominated, random };
        let mut rejections = Vec::new();
        for plugin in &self.post_filter {
            let Some(post_filter) = plugin.as_post_filter() else { continue };
            let (result, status) = post_filter.post_filter(state, pod, statuses, &context);
            if status.is_success() {
                return (result, status);
            }
            if !status.is_rejected() {
                return (None, status.with_plugin(plugin.name()));
            }
            rejections.push(status.message());
        }
        (None, Status::with_reasons(Code::Unschedulable, rejections.into_iter().map(Into::into).collect()))
    }

    /// Runs every PreScore; Skip marks the plugin's Score skipped.
    pub fn run_pre_score(
        &self,
        state: &mut CycleState,
        pod: &PodInfo,
        batch: &NodeBatch<'_>,
        snapshot: &Snapshot,
    ) -> Status {
        for plugin in &self.pre_score {
            let Some(pre_score) = plugin.as_pre_score() else { continue };
            let status = pre_score.pre_score_batch(state, pod, batch, snapshot);
            if status.is_skip() {
                state.skip_score_plugins.insert(plugin.name());
            } else if !status.is_success() {
                return Status::error(format!("running PreScore plugin {:?}: {}", plugin.name(), status.message()))
                    .with_plugin(plugin.name());
            }
        }
        Status::success()
    }

    /// Scores every node with every (not skipped) Score plugin, normalizes, checks the range and
    /// applies weights.
    pub fn run_score(&self, state: &CycleState, pod: &PodInfo, batch: &NodeBatch<'_>) -> Result<NodeScores, Status> {
        let mut result = NodeScores { totals: vec![0; batch.len()], per_plugin: Vec::new() };
        for weighted in &self.score {
            let plugin = &weighted.plugin;
            if state.skips_score(plugin.name()) {
                continue;
            }
            let Some(scorer) = plugin.as_score() else { continue };
            let mut scores = Vec::with_capacity(batch.len());
            scorer.score_nodes(state, pod, batch, &mut scores).map_err(|status| {
                Status::error(format!("running Score plugin {:?}: {}", plugin.name(), status.message()))
                    .with_plugin(plugin.name())
            })?;
            let status = scorer.normalize_score(state, pod, &mut scores);
            if !status.is_success() {
                return Err(Status::error(format!(
                    "running Normalize on Score plugins: plugin {:?} failed with: {}",
                    plugin.name(),
                    status.message()
                ))
                .with_plugin(plugin.name()));
            }
            for (score, total) in scores.iter_mut().zip(&mut result.totals) {
                if !(MIN_NODE_SCORE..=MAX_NODE_SCORE).contains(score) {
                    return Err(Status::error(format!(
                        "plugin {:?} returns an invalid score {score}, it should in the range of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing",
                        plugin.name()
                    )));
                }
                *score *= weighted.weight;
                *total += *score;
            }
            result.per_plugin.push((plugin.name(), scores));
        }
        Ok(result)
    }

    /// Runs every Reserve in order; on failure the caller must run [`Framework::run_unreserve`].
    pub fn run_reserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str) -> Status {
        for plugin in &self.reserve {
            let Some(reserve) = plugin.as_reserve() else { continue };
            let status = reserve.reserve(state, pod, node_name);
            if !status.is_success() {
                return status.with_plugin(plugin.name());
            }
        }
        Status::success()
    }

    /// Runs every Unreserve in reverse order.
    pub fn run_unreserve(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str) {
        for plugin in self.reserve.iter().rev() {
            if let Some(reserve) = plugin.as_reserve() {
                reserve.unreserve(state, pod, node_name);
            }
        }
    }

    /// Runs every Permit: the first rejection or error decides; otherwise Wait (with the shortest
    /// timeout) if any plugin waits.
    pub fn run_permit(&self, state: &mut CycleState, pod: &PodInfo, node_name: &str) -> (Status, Duration) {
        let mut wait: Option<Duration> = None;
        for plugin in &self.permit {
            let Some(permit) = plugin.as_permit() else { continue };
            let (status, timeout) = permit.permit(state, pod, node_name);
            match status.code() {
                Code::Success => {}
                Code::Wait => wait = Some(wait.map_or(timeout, |current| current.min(timeout))),
                _ => return (status.with_plugin(plugin.name()), Duration::ZERO),
            }
        }
        match wait {
            Some(timeout) => (Status::code_only(Code::Wait), timeout),
            None => (Status::success(), Duration::ZERO),
        }
    }

    /// Runs every PreBind: the first failure decides; otherwise Wait when any plugin waits.
    pub fn run_pre_bind(&self, state: &CycleState, pod: &PodInfo, node_name: &str) -> Status {
        let mut waiting = None;
        for plugin in &self.pre_bind {
            let Some(pre_bind) = plugin.as_pre_bind() else { continue };
            let status = pre_bind.pre_bind(state, pod, node_name);
            match status.code() {
                Code::Success => {}
                Code::Wait => waiting = waiting.or(Some(status.with_plugin(plugin.name()))),
                _ => return status.with_plugin(plugin.name()),
            }
        }
        waiting.unwrap_or_else(Status::success)
    }

    /// The writes every waiting PreBind needs made, in plugin order.
    pub fn run_pre_bind_writes(&self, state: &CycleState, pod: &PodInfo, node_name: &str) -> Vec<PreBindWrite> {
        let plugins = self.pre_bind.iter().filter_map(|plugin| plugin.as_pre_bind());
        plugins.flat_map(|pre_bind| pre_bind.pre_bind_writes(state, pod, node_name)).collect()
    }

    /// Whether every PreBind's wait is over: the first plugin not Success decides.
    pub fn run_pre_bind_done(
        &self,
        state: &CycleState,
        pod: &PodInfo,
        node_name: &str,
        objects: &ClusterObjects,
    ) -> Status {
        for plugin in &self.pre_bind {
            let Some(pre_bind) = plugin.as_pre_bind() else { continue };
            let status = pre_bind.pre_bind_done(state, pod, node_name, objects);
            if !status.is_success() {
                return status.with_plugin(plugin.name());
            }
        }
        Status::success()
    }

    /// Asks the binders in order until one does not skip.
    pub fn run_bind(&self, state: &CycleState, pod: &PodInfo, node_name: &str) -> Result<core::Binding, Status> {
        for plugin in &self.bind {
            let Some(binder) = plugin.as_bind() else { continue };
            match binder.bind(state, pod, node_name) {
                BindDecision::Bind(binding) => return Ok(*binding),
                BindDecision::Skip => continue,
                BindDecision::Failed(status) => return Err(status.with_plugin(plugin.name())),
            }
        }
        Err(Status::error("all bind plugins skipped the pod"))
    }
}

/// Runs resolved Filters on one node; the first that does not succeed decides, attributed.
pub fn run_filter_list(
    filters: &[(&'static str, &dyn FilterPlugin)],
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
) -> Status {
    for (name, filter) in filters {
        let status = filter.filter(state, pod, node);
        if !status.is_success() {
            let status = if status.is_rejected() { status } else { Status::error(status.message()) };
            return status.with_plugin(name);
        }
    }
    Status::success()
}

/// Runs resolved Filters over a batch of nodes, plugin by plugin (each plugin sees only the
/// nodes no earlier plugin rejected): `verdicts[i]` ends `None` when the batch's i-th node
/// passed, else the first failing plugin's status, attributed, exactly as [`run_filter_list`]
/// node by node.
pub fn run_filter_list_batch(
    filters: &[(&'static str, &dyn FilterPlugin)],
    state: &CycleState,
    pod: &PodInfo,
    batch: &NodeBatch<'_>,
    verdicts: &mut Vec<Option<Status>>,
) {
    verdicts.clear();
    verdicts.resize(batch.len(), None);
    let mut decided = vec![false; batch.len()];
    for (name, filter) in filters {
        filter.filter_nodes(state, pod, batch, verdicts);
        for (verdict, decided) in verdicts.iter_mut().zip(decided.iter_mut()) {
            // Most verdicts stay undecided: test before taking, so they are not rewritten.
            if *decided || verdict.is_none() {
                continue;
            }
            if let Some(status) = verdict.take() {
                *decided = true;
                let status = if status.is_rejected() { status } else { Status::error(status.message()) };
                *verdict = Some(status.with_plugin(name));
            }
        }
    }
}

/// Runs resolved Filters on one node with the `nominated` Pods (those nominated to it that are
/// at least as important as the Pod) counted as running there, then, if that passed, takes
/// `without`: the verdict without them (`RunFilterPluginsWithNominatedPods`). The Pod must fit
/// both when the nominated Pods arrive and when they never do (their affinity may be what lets it
/// fit). `without` is a closure so that a caller who already holds that verdict (the batch
/// filters' verdict for the node) hands it over instead of filtering the node again. The node
/// with the nominated Pods is built in `scratch`, overwritten rather than allocated anew, unless
/// the caller holds it already built, after each Pod added (`prepared`: see
/// [`NominatedPods::prepared`](super::nominated_pods::NominatedPods::prepared)).
#[allow(clippy::too_many_arguments)]
pub fn run_filter_list_with_nominated(
    runner: &dyn FilterRunner,
    filters: &[(&'static str, &dyn FilterPlugin)],
    state: &CycleState,
    pod: &PodInfo,
    node: &NodeInfo,
    nominated: &[Arc<PodInfo>],
    prepared: Option<&[NodeInfo]>,
    scratch: &mut NominatedScratch,
    without: impl FnOnce() -> Status,
) -> Status {
    if nominated.is_empty() {
        return without();
    }
    let NominatedScratch { state: state_with_nominated, node: node_with_nominated } = scratch;
    state_with_nominated.clone_from(state);
    if let Some(steps) = prepared.filter(|steps| steps.len() == nominated.len()) {
        for (other, step) in nominated.iter().zip(steps) {
            let status = runner.run_add_pod(state_with_nominated, pod, other, step);
            if !status.is_success() {
                return status;
            }
        }
        let status = run_filter_list(filters, state_with_nominated, pod, &steps[steps.len() - 1]);
        if !status.is_success() {
            return status;
        }
        return without();
    }
    node_with_nominated.clone_from(node);
    for other in nominated {
        node_with_nominated.add_pod(Arc::clone(other));
        let status = runner.run_add_pod(state_with_nominated, pod, other, node_with_nominated);
        if !status.is_success() {
            return status;
        }
    }
    let status = run_filter_list(filters, state_with_nominated, pod, node_with_nominated);
    if !status.is_success() {
        return status;
    }
    without()
}

impl FilterRunner for Framework {
    fn run_filters(&self, state: &CycleState, pod: &PodInfo, node: &NodeInfo) -> Status {
        self.run_filter(state, pod, node)
    }

    fn active_filter_list(&self, state: &CycleState) -> Vec<(&'static str, &dyn FilterPlugin)> {
        self.active_filters(state)
    }

    fn run_active_filters_with_nominated(
        &self,
        filters: &[(&'static str, &dyn FilterPlugin)],
        state: &CycleState,
        pod: &PodInfo,
        node: &NodeInfo,
        nominated: &[Arc<PodInfo>],
        scratch: &mut NominatedScratch,
    ) -> Status {
        run_filter_list_with_nominated(self, filters, state, pod, node, nominated, None, scratch, || {
            run_filter_list(filters, state, pod, node)
        })
    }

    fn run_add_pod(&self, state: &mut CycleState, pod: &PodInfo, added: &PodInfo, node: &NodeInfo) -> Status {
        self.run_pre_filter_extension(state, "AddPod", |pre_filter, state| pre_filter.add_pod(state, pod, added, node))
    }

    fn run_remove_pod(&self, state: &mut CycleState, pod: &PodInfo, victim: &PodInfo, node: &NodeInfo) -> Status {
        self.run_pre_filter_extension(state, "RemovePod", |pre_filter, state| {
            pre_filter.remove_pod(state, pod, victim, node)
        })
    }
}

impl Framework {
    /// Runs one PreFilter extension (AddPod or RemovePod) of every PreFilter not skipped this
    /// cycle; the first failure is an error naming the extension and the plugin
    /// (`RunPreFilterExtensionAddPod` / `RunPreFilterExtensionRemovePod`).
    fn run_pre_filter_extension(
        &self,
        state: &mut CycleState,
        extension: &str,
        call: impl Fn(&dyn PreFilterPlugin, &mut CycleState) -> Status,
    ) -> Status {
        for (plugin, bit) in self.pre_filter.iter().zip(&self.pre_filter_bits) {
            if state.skips_filter_bit(plugin.name(), *bit) {
                continue;
            }
            if let Some(pre_filter) = plugin.as_pre_filter() {
                let status = call(pre_filter, state);
                if !status.is_success() {
                    let message =
                        format!("running {extension} on PreFilter plugin {:?}: {}", plugin.name(), status.message());
                    return Status::error(message).with_plugin(plugin.name());
                }
            }
        }
        Status::success()
    }
}
