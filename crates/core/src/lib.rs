//! podsift's domain core: the types every stage speaks, the configuration, and the ports
//! (small traits) that every side effect sits behind. Nothing here does I/O; the concrete
//! implementations live in their own crates and only the binary picks them.

pub mod allow;
pub mod clock;
pub mod config;
pub mod discovery;
pub mod feedback;
pub mod fetch;
pub mod insight;
pub mod jobs;
pub mod lease;
pub mod model;
pub mod stage;
pub mod store;
pub mod users;
pub mod web;

pub use allow::AllowList;
pub use clock::{Clock, SystemClock};
pub use config::Config;
pub use feedback::Feedback;
pub use fetch::{
    DownloadRequest, Downloaded, Downloader, FetchError, FetchRequest, FetchResponse, Fetcher,
};
pub use insight::*;
pub use jobs::{Fence, Job, JobBacklog, JobKind, JobOutcome, JobState, NewJob};
pub use lease::LeaseKeeper;
pub use model::*;
pub use store::{Store, StoreError};
pub use users::{ChannelSpec, NewUserProfile, ServiceCounts, UserProfile};
pub use web::{DigestSummary, SearchHit, SearchKind, Session, ShowWeight, UserSettings};
