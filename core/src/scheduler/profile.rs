//! Scheduler configuration as `KubeSchedulerConfiguration` (kubescheduler.config.k8s.io/v1)
//! writes it: profiles by `schedulerName`, plugins enabled and disabled per extension point
//! (`*` disables every default), `multiPoint`, score weights, `percentageOfNodesToScore` and
//! `pluginConfig` args; decoded strictly, then merged with kube-scheduler 1.32's defaults.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::limits::{MAX_PROFILES, POD_INITIAL_BACKOFF, POD_MAX_BACKOFF};
use super::plugins::{
    default_binder, default_preemption, image_locality, inter_pod_affinity, node_affinity, node_name, node_ports,
    node_resources_balanced_allocation, node_resources_fit, node_unschedulable, pod_topology_spread, priority_sort,
    taint_toleration,
};
use super::plugins::{node_volume_limits, scheduling_gates, volume_binding, volume_restrictions, volume_zone};

/// The scheduler name Pods get when they name none.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// The configuration's API version.
pub const API_VERSION: &str = "kubescheduler.config.k8s.io/v1";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The YAML does not decode into a configuration (unknown fields included).
    #[error("decoding KubeSchedulerConfiguration")]
    Decode {
        /// The decoder's error.
        #[source]
        source: serde_saphyr::Error,
    },
    /// apiVersion or kind is wrong.
    #[error("unsupported apiVersion/kind {api_version:?}/{kind:?}, want {API_VERSION}/KubeSchedulerConfiguration")]
    WrongKind {
        /// The apiVersion given.
        api_version: String,
        /// The kind given.
        kind: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{field}: Invalid value: {message}")]
    Invalid {
        /// The field path.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// One plugin reference with an optional score weight (`v1.Plugin`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginRef {
    /// The plugin name, or `*` in `disabled`.
    pub name: String,
    /// The score weight (Score and MultiPoint only; 0 means 1).
    #[serde(default)]
    pub weight: Option<i64>,
}

impl PluginRef {
    fn named(name: &str, weight: Option<i64>) -> PluginRef {
        PluginRef { name: name.to_owned(), weight }
    }
}

/// Enabled and disabled plugins of one extension point (`v1.PluginSet`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginSet {
    /// Plugins to run, in order.
    #[serde(default)]
    pub enabled: Vec<PluginRef>,
    /// Default plugins not to run; `*` for all.
    #[serde(default)]
    pub disabled: Vec<PluginRef>,
}

/// The plugin sets of every extension point (`v1.Plugins`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Plugins {
    /// PreEnqueue.
    #[serde(default)]
    pub pre_enqueue: PluginSet,
    /// QueueSort.
    #[serde(default)]
    pub queue_sort: PluginSet,
    /// PreFilter.
    #[serde(default)]
    pub pre_filter: PluginSet,
    /// Filter.
    #[serde(default)]
    pub filter: PluginSet,
    /// PostFilter.
    #[serde(default)]
    pub post_filter: PluginSet,
    /// PreScore.
    #[serde(default)]
    pub pre_score: PluginSet,
    /// Score.
    #[serde(default)]
    pub score: PluginSet,
    /// Reserve.
    #[serde(default)]
    pub reserve: PluginSet,
    /// Permit.
    #[serde(default)]
    pub permit: PluginSet,
    /// PreBind.
    #[serde(default)]
    pub pre_bind: PluginSet,
    /// Bind.
    #[serde(default)]
    pub bind: PluginSet,
    /// PostBind (accepted, not run yet).
    #[serde(default)]
    pub post_bind: PluginSet,
    /// Plugins enabled at every point they implement.
    #[serde(default)]
    pub multi_point: PluginSet,
}

/// Args for one plugin (`v1.PluginConfig`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginConfig {
    /// The plugin.
    pub name: String,
    /// Its args, decoded by the plugin.
    #[serde(default)]
    pub args: Option<serde_json::Value>,
}

/// One scheduling profile as written (`v1.KubeSchedulerProfile`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProfileSpec {
    /// The `spec.schedulerName` this profile serves.
    #[serde(default)]
    pub scheduler_name: Option<String>,
    /// Overrides the global share of nodes to score.
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<u32>,
    /// Plugin changes against the defaults.
    #[serde(default)]
    pub plugins: Option<Plugins>,
    /// Plugin args.
    #[serde(default)]
    pub plugin_config: Vec<PluginConfig>,
}

/// The configuration file (`v1.KubeSchedulerConfiguration`); connection settings are accepted
/// and ignored, since the shells own connections.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeSchedulerConfiguration {
    /// Must be `kubescheduler.config.k8s.io/v1`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Must be `KubeSchedulerConfiguration`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Share of nodes to find feasible before scoring; 0 or absent means adaptive.
    #[serde(default)]
    pub percentage_of_nodes_to_score: Option<u32>,
    /// First backoff in seconds (default 1).
    #[serde(default)]
    pub pod_initial_backoff_seconds: Option<u64>,
    /// Longest backoff in seconds (default 10).
    #[serde(default)]
    pub pod_max_backoff_seconds: Option<u64>,
    /// The profiles; one default profile when empty.
    #[serde(default)]
    pub profiles: Vec<ProfileSpec>,
    /// Accepted for compatibility; ignored.
    #[serde(default)]
    pub parallelism: Option<i64>,
    /// Accepted for compatibility; ignored.
    #[serde(default)]
    pub leader_election: Option<serde_json::Value>,
    /// Accepted for compatibility; ignored.
    #[serde(default)]
    pub client_connection: Option<serde_json::Value>,
    /// Accepted for compatibility; ignored.
    #[serde(default)]
    pub enable_profiling: Option<bool>,
    /// Accepted for compatibility; ignored.
    #[serde(default)]
    pub enable_contention_profiling: Option<bool>,
    /// Accepted for compatibility; ignored.
    #[serde(default)]
    pub delay_cache_until_active: Option<bool>,
}

/// A profile after merging with the defaults: what the framework is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// The scheduler name served.
    pub scheduler_name: String,
    /// Share of nodes to score; `None` means adaptive.
    pub percentage_of_nodes_to_score: Option<u32>,
    /// Plugin sets per point, defaults merged in.
    pub plugins: Plugins,
    /// Args by plugin name.
    pub plugin_config: BTreeMap<String, serde_json::Value>,
}

/// The whole configuration after defaulting.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedulerConfig {
    /// The profiles, at least one.
    pub profiles: Vec<Profile>,
    /// First backoff.
    pub pod_initial_backoff: std::time::Duration,
    /// Longest backoff.
    pub pod_max_backoff: std::time::Duration,
}

impl Default for SchedulerConfig {
    fn default() -> SchedulerConfig {
        SchedulerConfig {
            profiles: vec![Profile::merged(ProfileSpec::default(), None)],
            pod_initial_backoff: POD_INITIAL_BACKOFF,
            pod_max_backoff: POD_MAX_BACKOFF,
        }
    }
}

/// kube-scheduler 1.32's default plugins, all enabled at MultiPoint (`getDefaultPlugins`), in
/// Kubernetes' order and with its weights.
pub fn default_plugins() -> Plugins {
    let enabled = vec![
        PluginRef::named(scheduling_gates::NAME, None),
        PluginRef::named(priority_sort::NAME, None),
        PluginRef::named(node_unschedulable::NAME, None),
        PluginRef::named(node_name::NAME, None),
        PluginRef::named(taint_toleration::NAME, Some(3)),
        PluginRef::named(node_affinity::NAME, Some(2)),
        PluginRef::named(node_ports::NAME, None),
        PluginRef::named(node_resources_fit::NAME, Some(1)),
        PluginRef::named(volume_restrictions::NAME, None),
        PluginRef::named(node_volume_limits::NAME, None),
        PluginRef::named(volume_binding::NAME, None),
        PluginRef::named(volume_zone::NAME, None),
        PluginRef::named(pod_topology_spread::NAME, Some(2)),
        PluginRef::named(inter_pod_affinity::NAME, Some(2)),
        PluginRef::named(default_preemption::NAME, None),
        PluginRef::named(node_resources_balanced_allocation::NAME, Some(1)),
        PluginRef::named(image_locality::NAME, Some(1)),
        PluginRef::named(default_binder::NAME, None),
    ];
    Plugins { multi_point: PluginSet { enabled, disabled: Vec::new() }, ..Plugins::default() }
}

/// Merges a custom plugin set into a default one (`mergePluginSet`): `*` drops every default,
/// a re-enabled default keeps its place with the new settings, other custom plugins follow.
pub fn merge_plugin_set(default: &PluginSet, custom: &PluginSet) -> PluginSet {
    let disabled_all = custom.disabled.iter().any(|plugin| plugin.name == "*");
    let mut replaced = vec![false; custom.enabled.len()];
    let mut enabled = Vec::new();
    if !disabled_all {
        for plugin in &default.enabled {
            if custom.disabled.iter().any(|disabled| disabled.name == plugin.name) {
                continue;
            }
            match custom.enabled.iter().position(|custom| custom.name == plugin.name) {
                Some(index) => {
                    replaced[index] = true;
                    enabled.push(custom.enabled[index].clone());
                }
                None => enabled.push(plugin.clone()),
            }
        }
    }
    enabled.extend(custom.enabled.iter().zip(&replaced).filter(|(_, replaced)| !**replaced).map(|(p, _)| p.clone()));
    PluginSet { enabled, disabled: custom.disabled.clone() }
}

impl Plugins {
    /// Every point's set, with Kubernetes' interface name, mutably.
    pub fn points_mut(&mut self) -> [(&'static str, &mut PluginSet); 13] {
        [
            ("PreEnqueuePlugin", &mut self.pre_enqueue),
            ("QueueSortPlugin", &mut self.queue_sort),
            ("PreFilterPlugin", &mut self.pre_filter),
            ("FilterPlugin", &mut self.filter),
            ("PostFilterPlugin", &mut self.post_filter),
            ("PreScorePlugin", &mut self.pre_score),
            ("ScorePlugin", &mut self.score),
            ("ReservePlugin", &mut self.reserve),
            ("PermitPlugin", &mut self.permit),
            ("PreBindPlugin", &mut self.pre_bind),
            ("BindPlugin", &mut self.bind),
            ("PostBindPlugin", &mut self.post_bind),
            ("MultiPoint", &mut self.multi_point),
        ]
    }

    /// The merge of custom plugins into these defaults, point by point.
    pub fn merged_with(mut self, custom: &Plugins) -> Plugins {
        let mut custom = custom.clone();
        for ((_, default), (_, custom)) in self.points_mut().into_iter().zip(custom.points_mut()) {
            *default = merge_plugin_set(default, custom);
        }
        self
    }
}

impl Profile {
    fn merged(spec: ProfileSpec, global_percentage: Option<u32>) -> Profile {
        let plugins = match &spec.plugins {
            Some(custom) => default_plugins().merged_with(custom),
            None => default_plugins(),
        };
        Profile {
            scheduler_name: spec.scheduler_name.unwrap_or_else(|| DEFAULT_SCHEDULER_NAME.to_owned()),
            percentage_of_nodes_to_score: spec.percentage_of_nodes_to_score.or(global_percentage).filter(|p| *p > 0),
            plugins,
            plugin_config: spec.plugin_config.into_iter().filter_map(|c| c.args.map(|args| (c.name, args))).collect(),
        }
    }
}

impl SchedulerConfig {
    /// Reads and validates a `KubeSchedulerConfiguration` YAML document.
    pub fn from_yaml(text: &str) -> Result<SchedulerConfig, ProfileError> {
        let options = serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_depth: crate::limits::MAX_DOCUMENT_DEPTH,
                max_aliases: crate::limits::MAX_YAML_ALIASES,
            },
        };
        let config: KubeSchedulerConfiguration =
            serde_saphyr::from_str_with_options(text, options).map_err(|source| ProfileError::Decode { source })?;
        SchedulerConfig::from_configuration(config)
    }

    /// Validates and defaults a decoded configuration.
    pub fn from_configuration(config: KubeSchedulerConfiguration) -> Result<SchedulerConfig, ProfileError> {
        let api_version = config.api_version.clone().unwrap_or_default();
        let kind = config.kind.clone().unwrap_or_default();
        if (!api_version.is_empty() && api_version != API_VERSION)
            || (!kind.is_empty() && kind != "KubeSchedulerConfiguration")
        {
            return Err(ProfileError::WrongKind { api_version, kind });
        }
        let invalid = |field: &str, message: String| ProfileError::Invalid { field: field.to_owned(), message };
        let check_percentage = |field: &str, value: Option<u32>| match value {
            Some(value) if value > 100 => Err(invalid(field, format!("{value}: not in valid range [0-100]"))),
            _ => Ok(()),
        };
        check_percentage("percentageOfNodesToScore", config.percentage_of_nodes_to_score)?;
        if config.profiles.len() > MAX_PROFILES {
            return Err(invalid("profiles", format!("{} profiles: at most {MAX_PROFILES}", config.profiles.len())));
        }
        let initial = config.pod_initial_backoff_seconds.map_or(POD_INITIAL_BACKOFF, std::time::Duration::from_secs);
        let max = config.pod_max_backoff_seconds.map_or(POD_MAX_BACKOFF, std::time::Duration::from_secs);
        if initial.is_zero() || max < initial {
            return Err(invalid(
                "podMaxBackoffSeconds",
                "must be greater than or equal to podInitialBackoffSeconds".into(),
            ));
        }
        let specs = if config.profiles.is_empty() { vec![ProfileSpec::default()] } else { config.profiles };
        let mut profiles: Vec<Profile> = Vec::new();
        for (index, spec) in specs.into_iter().enumerate() {
            check_percentage(
                &format!("profiles[{index}].percentageOfNodesToScore"),
                spec.percentage_of_nodes_to_score,
            )?;
            let profile = Profile::merged(spec, config.percentage_of_nodes_to_score);
            if profiles.iter().any(|other| other.scheduler_name == profile.scheduler_name) {
                return Err(invalid(
                    &format!("profiles[{index}].schedulerName"),
                    format!("{:?}: Duplicate value", profile.scheduler_name),
                ));
            }
            profiles.push(profile);
        }
        Ok(SchedulerConfig { profiles, pod_initial_backoff: initial, pod_max_backoff: max })
    }
}
