//! [`DurableStore`]: the embedded durable [`Store`] of `cox server`, kept in one redb file in the
//! data directory.
//!
//! redb is the durable state; a [`MemoryStore`] image of it serves every read, so lists, gets and
//! watches cost what they cost in memory. A write is first applied to the image (which checks it
//! exactly as the memory store does and stamps its revision), then queued for the group
//! committer ([`super::durable_commit`]), which writes everything queued since its last commit in
//! one redb transaction with `Durability::Immediate` (one fsync). The shell acknowledges a write
//! only once [`Store::durability`] says its revision is on disk, and watches see a change only
//! then. A read may see a write up to one commit (a few milliseconds) before it is durable; a
//! crash in that window loses the unacknowledged write, as it loses any unacknowledged write.
//! Should a commit fail, the store stops serving (`Unavailable`, with the cause) rather than show
//! writes that are not on disk.
//!
//! Difference from etcd (which Kubernetes uses), deliberate: one process owns the file (redb
//! locks it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use coxswain_core::limits::WATCH_WINDOW_REVISIONS;
use coxswain_core::object::Object;
use coxswain_core::object::kinds::GroupResource;
use coxswain_core::store::Durability;
use coxswain_core::store::{
    Change, ChangeType, ListOptions, ListResult, MemoryStore, ObjectKey, Preconditions, Revision, Store, StoreError,
    Write, parse_revision,
};
use redb::Database;

use super::durable_commit::Committer;
use super::durable_records::{RecordError, load};

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "store.redb";

/// Why a durable store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// The data directory could not be created.
    #[error("creating the data directory {path}: {source}")]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// redb could not open or create the file (another process holds it, say).
    #[error("opening the database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What redb said.
        #[source]
        source: redb::DatabaseError,
    },
    /// The file could not be read back.
    #[error("reading the database {path}: {source}")]
    Load {
        /// The database file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: RecordError,
    },
    /// The committer thread could not be started.
    #[error("starting the commit thread for {path}: {source}")]
    Committer {
        /// The database file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file reads, but its revisions and history do not fit together.
    #[error("the database {path} is inconsistent: {source}")]
    Inconsistent {
        /// The database file.
        path: PathBuf,
        /// What does not fit (boxed to keep the error small).
        #[source]
        source: Box<StoreError>,
    },
}

/// A [`Store`] that survives restarts and crashes: an acknowledged write is on disk.
pub struct DurableStore {
    path: PathBuf,
    memory: MemoryStore,
    /// Commits queued writes to the database, which it owns.
    committer: Arc<Committer>,
    /// The committer's thread, joined on drop once it has committed what was queued.
    committing: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for DurableStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DurableStore")
            .field("path", &self.path)
            .field("revision", &self.memory.current_revision())
            .field("compacted", &self.memory.compacted_revision())
            .finish()
    }
}

impl DurableStore {
    /// Opens (or creates) the store in `directory`, resuming at the revision it was left at, with
    /// [`WATCH_WINDOW_REVISIONS`] of history.
    pub fn open(directory: impl AsRef<Path>) -> Result<DurableStore, DurableError> {
        DurableStore::open_with_window(directory, WATCH_WINDOW_REVISIONS)
    }

    /// [`DurableStore::open`] keeping at most `window_revisions` of history (tests use small
    /// windows to reach compaction quickly).
    pub fn open_with_window(directory: impl AsRef<Path>, window_revisions: u64) -> Result<DurableStore, DurableError> {
        let directory = directory.as_ref();
        std::fs::create_dir_all(directory)
            .map_err(|source| DurableError::CreateDirectory { path: directory.to_path_buf(), source })?;
        let path = directory.join(DATABASE_FILE);
        let database = Database::create(&path).map_err(|source| DurableError::Open { path: path.clone(), source })?;
        let memory = image(&database, window_revisions).map_err(|error| match error {
            ImageError::Load(source) => DurableError::Load { path: path.clone(), source },
            ImageError::Inconsistent(source) => {
                DurableError::Inconsistent { path: path.clone(), source: Box::new(source) }
            }
        })?;
        let (committer, committing) = Committer::start(
            database,
            path.display().to_string(),
            memory.current_revision(),
            memory.compacted_revision(),
        )
        .map_err(|source| DurableError::Committer { path: path.clone(), source })?;
        Ok(DurableStore { path, memory, committer, committing: Some(committing) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many objects the store holds.
    pub fn object_count(&self) -> usize {
        self.memory.object_count()
    }

    fn serving(&self) -> Result<(), StoreError> {
        match self.committer.failure() {
            Some(reason) => Err(StoreError::Unavailable { message: reason }),
            None => Ok(()),
        }
    }

    /// Queues the writes the image has just applied for the next group commit.
    fn persist(&mut self, changes: Vec<Change>) -> Result<(), StoreError> {
        self.committer.enqueue(changes, self.memory.current_revision(), self.memory.compacted_revision());
        Ok(())
    }

    /// Blocks until every write so far is on disk (tests and tools that use the store directly,
    /// without a shell that waits through [`Store::durability`]).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.committer.wait_durable(self.memory.current_revision())
    }

    /// The stored object under `key` now (before a write replaces it).
    fn previous(&self, key: &ObjectKey) -> Option<Arc<Object>> {
        self.memory.get(key).ok()
    }
}

enum ImageError {
    Load(RecordError),
    Inconsistent(StoreError),
}

impl std::fmt::Display for ImageError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImageError::Load(error) => error.fmt(formatter),
            ImageError::Inconsistent(error) => error.fmt(formatter),
        }
    }
}

/// The memory image of what is on disk.
fn image(database: &Database, window_revisions: u64) -> Result<MemoryStore, ImageError> {
    let loaded = load(database).map_err(ImageError::Load)?;
    let revision = loaded.revision;
    let memory = MemoryStore::restore(window_revisions, loaded.compacted, loaded.objects, loaded.history)
        .map_err(ImageError::Inconsistent)?;
    if memory.current_revision() != revision {
        let message = format!("history ends at {} but the revision is {revision}", memory.current_revision());
        return Err(ImageError::Inconsistent(StoreError::Internal { message }));
    }
    Ok(memory)
}

/// The change a write made, as the history keeps it.
fn change_of(
    change_type: ChangeType,
    key: ObjectKey,
    object: &Arc<Object>,
    previous: Option<Arc<Object>>,
) -> Result<Change, StoreError> {
    let revision = parse_revision(object.resource_version())?;
    Ok(Change { change_type, revision, key, object: Arc::clone(object), previous })
}

impl Store for DurableStore {
    fn current_revision(&self) -> Revision {
        self.memory.current_revision()
    }

    fn compacted_revision(&self) -> Revision {
        self.memory.compacted_revision()
    }

    fn create(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        self.serving()?;
        let key = ObjectKey::of(resource, &object);
        let stored = self.memory.create(resource, object)?;
        self.persist(vec![change_of(ChangeType::Added, key, &stored, None)?])?;
        Ok(stored)
    }

    fn get(&self, key: &ObjectKey) -> Result<Arc<Object>, StoreError> {
        self.serving()?;
        self.memory.get(key)
    }

    fn update(&mut self, resource: GroupResource, object: Object) -> Result<Arc<Object>, StoreError> {
        self.serving()?;
        let key = ObjectKey::of(resource, &object);
        let previous = self.previous(&key);
        let stored = self.memory.update(resource, object)?;
        self.persist(vec![change_of(ChangeType::Modified, key, &stored, previous)?])?;
        Ok(stored)
    }

    fn delete(&mut self, key: &ObjectKey, preconditions: &Preconditions) -> Result<Arc<Object>, StoreError> {
        self.serving()?;
        let previous = self.previous(key);
        let last_state = self.memory.delete(key, preconditions)?;
        self.persist(vec![change_of(ChangeType::Deleted, key.clone(), &last_state, previous)?])?;
        Ok(last_state)
    }

    fn transaction(&mut self, writes: Vec<Write>) -> Result<Vec<Arc<Object>>, StoreError> {
        self.serving()?;
        let planned: Vec<(ChangeType, ObjectKey, Option<Arc<Object>>)> = writes
            .iter()
            .map(|write| {
                let change_type = match write {
                    Write::Create { .. } => ChangeType::Added,
                    Write::Update { .. } => ChangeType::Modified,
                    Write::Delete { .. } => ChangeType::Deleted,
                };
                let key = write.key();
                let previous = self.previous(&key);
                (change_type, key, previous)
            })
            .collect();
        let stored = self.memory.transaction(writes)?;
        let changes = planned
            .into_iter()
            .zip(&stored)
            .map(|((change_type, key, previous), object)| change_of(change_type, key, object, previous))
            .collect::<Result<Vec<Change>, StoreError>>()?;
        self.persist(changes)?;
        Ok(stored)
    }

    fn list(&self, resource: GroupResource, options: &ListOptions<'_>) -> Result<ListResult, StoreError> {
        self.serving()?;
        self.memory.list(resource, options)
    }

    fn visit_changes_after(
        &self,
        after: Revision,
        max: usize,
        visit: &mut dyn FnMut(&Arc<Change>),
    ) -> Result<Revision, StoreError> {
        self.serving()?;
        // Watches see only what is on disk; the image's revisions are dense, one per change.
        let durable = self.committer.durable_revision();
        let visible = usize::try_from(durable.saturating_sub(after)).unwrap_or(usize::MAX);
        if visible == 0 {
            if after < self.memory.compacted_revision() {
                return Err(StoreError::Expired { requested: after, compacted: self.memory.compacted_revision() });
            }
            return Ok(after);
        }
        self.memory.visit_changes_after(after, max.min(visible), visit)
    }

    fn compact(&mut self, revision: Revision) -> Result<(), StoreError> {
        self.serving()?;
        self.memory.compact(revision)?;
        self.persist(Vec::new())
    }

    fn durability(&self) -> Option<Arc<dyn Durability>> {
        Some(Arc::clone(&self.committer) as Arc<dyn Durability>)
    }
}

impl Drop for DurableStore {
    fn drop(&mut self) {
        self.committer.stop();
        if let Some(committing) = self.committing.take() {
            let _ = committing.join();
        }
    }
}
