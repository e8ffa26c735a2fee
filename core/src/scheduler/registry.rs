//! The plugin registry: plugin names to constructors taking the plugin's `pluginConfig` args
//! (kube-scheduler's `frameworkruntime.Registry`). Out-of-tree plugins register here too.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::framework::Plugin;
use super::plugins::{
    default_binder, default_preemption, image_locality, inter_pod_affinity, node_affinity, node_name, node_ports,
    node_resources_balanced_allocation, node_resources_fit, node_unschedulable, pod_topology_spread, priority_sort,
    taint_toleration,
};
use super::plugins::{node_volume_limits, scheduling_gates, volume_binding, volume_restrictions, volume_zone};

/// Why a plugin could not be built or configured.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No constructor is registered under the name.
    #[error("plugin {name:?} does not exist")]
    UnknownPlugin {
        /// The name as configured.
        name: String,
    },
    /// Two constructors under one name.
    #[error("a plugin named {name} already exists")]
    DuplicatePlugin {
        /// The name.
        name: String,
    },
    /// The plugin's args do not decode.
    #[error("decoding args for plugin {plugin}")]
    InvalidArgs {
        /// The plugin.
        plugin: &'static str,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// The plugin's args decode but are not valid.
    #[error("invalid args for plugin {plugin}: {message}")]
    InvalidArgsValue {
        /// The plugin.
        plugin: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A selector in the plugin's args is malformed.
    #[error("invalid selector in args for plugin {plugin}: {message}")]
    InvalidSelector {
        /// The plugin.
        plugin: &'static str,
        /// The selector error.
        message: String,
    },
    /// A plugin is configured at an extension point it does not implement.
    #[error("plugin {plugin:?} does not extend {point} plugin")]
    PluginDoesNotExtend {
        /// The plugin.
        plugin: String,
        /// The extension point, as Kubernetes names its interface (`FilterPlugin`).
        point: &'static str,
    },
    /// A plugin is enabled twice at one extension point.
    #[error("plugin {plugin:?} already registered as {point:?}")]
    AlreadyRegistered {
        /// The plugin.
        plugin: String,
        /// The extension point.
        point: &'static str,
    },
    /// The profile has no QueueSort or no Bind plugin.
    #[error("at least one {point} plugin is needed")]
    MissingPlugin {
        /// The extension point.
        point: &'static str,
    },
}

/// Builds one plugin from its args.
pub type PluginFactory = fn(Option<&serde_json::Value>) -> Result<Arc<dyn Plugin>, RegistryError>;

/// Plugin constructors by name.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    factories: BTreeMap<&'static str, PluginFactory>,
}

fn plain<P: Plugin + Default + 'static>(_: Option<&serde_json::Value>) -> Result<Arc<dyn Plugin>, RegistryError> {
    Ok(Arc::new(P::default()))
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Every in-tree plugin coxswain implements.
    pub fn in_tree() -> Registry {
        let mut registry = Registry::new();
        let entries: [(&'static str, PluginFactory); 18] = [
            (scheduling_gates::NAME, plain::<scheduling_gates::SchedulingGates>),
            (priority_sort::NAME, plain::<priority_sort::PrioritySort>),
            (node_name::NAME, plain::<node_name::NodeName>),
            (node_unschedulable::NAME, plain::<node_unschedulable::NodeUnschedulable>),
            (taint_toleration::NAME, plain::<taint_toleration::TaintToleration>),
            (node_affinity::NAME, |args| Ok(Arc::new(node_affinity::NodeAffinity::new(args)?))),
            (node_ports::NAME, plain::<node_ports::NodePorts>),
            (node_resources_fit::NAME, |args| Ok(Arc::new(node_resources_fit::Fit::new(args)?))),
            (node_resources_balanced_allocation::NAME, |args| {
                Ok(Arc::new(node_resources_balanced_allocation::BalancedAllocation::new(args)?))
            }),
            (image_locality::NAME, plain::<image_locality::ImageLocality>),
            (pod_topology_spread::NAME, |args| Ok(Arc::new(pod_topology_spread::PodTopologySpread::new(args)?))),
            (inter_pod_affinity::NAME, |args| Ok(Arc::new(inter_pod_affinity::InterPodAffinity::new(args)?))),
            (default_preemption::NAME, plain::<default_preemption::DefaultPreemption>),
            (default_binder::NAME, plain::<default_binder::DefaultBinder>),
            (volume_restrictions::NAME, plain::<volume_restrictions::VolumeRestrictions>),
            (node_volume_limits::NAME, plain::<node_volume_limits::NodeVolumeLimits>),
            (volume_binding::NAME, plain::<volume_binding::VolumeBinding>),
            (volume_zone::NAME, plain::<volume_zone::VolumeZone>),
        ];
        for (name, factory) in entries {
            registry.factories.insert(name, factory);
        }
        registry
    }

    /// Adds a constructor; a name may be registered once.
    pub fn register(&mut self, name: &'static str, factory: PluginFactory) -> Result<(), RegistryError> {
        if self.factories.contains_key(name) {
            return Err(RegistryError::DuplicatePlugin { name: name.to_owned() });
        }
        self.factories.insert(name, factory);
        Ok(())
    }

    /// Builds a plugin by name.
    pub fn build(&self, name: &str, args: Option<&serde_json::Value>) -> Result<Arc<dyn Plugin>, RegistryError> {
        let factory = self.factories.get(name).ok_or_else(|| RegistryError::UnknownPlugin { name: name.to_owned() })?;
        factory(args)
    }

    /// Whether a name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }
}
