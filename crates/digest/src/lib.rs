//! podsift's daily digest: the chosen insights ([`Pick`], chosen by `podsift-ranking`), the digest's stable shape
//! ([`build_digest`]), how it reads ([`render`]: Markdown, email-safe HTML, plain text, JSON),
//! how much of the episodes was read ([`coverage`]), and where it goes (the
//! [`podsift_core::Channel`] implementations [`FileChannel`], [`StdoutChannel`] and
//! [`SmtpChannel`]).
//!
//! Everything that comes from a feed or a model (insight text, quotes, show and episode
//! titles, URLs) is untrusted: it is escaped for each output format, stripped of control
//! characters, bounded in length, and only `http`/`https` URLs ever become links.

mod build;
pub mod channel;
pub mod coverage;
pub mod feed;
pub mod feedback;
mod pick;
mod render;
mod sanitize;
mod text;

pub use build::{build_digest, moment_link};
pub use channel::{
    DiscordChannel, FileChannel, HttpChannelOptions, SlackChannel, SmtpChannel, StdoutChannel,
    StdoutFormat, WebhookChannel, WebhookError, check_channel_url,
};
pub use feedback::{
    FeedbackKeyError, FeedbackLinks, FeedbackVote, feedback_token, load_or_create_secret,
    verify_feedback_token,
};
pub use pick::Pick;
pub use render::{html_environment, render, render_with_feedback, subject};
pub use sanitize::sanitize_html;
pub use text::{md_escape, safe_url};

/// Errors of this crate outside delivery (delivery uses [`podsift_core::DeliveryError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// A template failed to render: a bug in podsift, not in the input.
    #[error("digest template failed: {0}")]
    Template(String),
    /// The digest could not be serialised to JSON.
    #[error("digest JSON failed: {0}")]
    Json(String),
}
