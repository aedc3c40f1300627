//! Delivery channels: implementations of [`podsift_core::Channel`].

mod chat;
mod file;
mod http;
mod smtp;
mod stdout;
mod webhook;

pub use chat::{
    DiscordChannel, SlackChannel, discord_escape, discord_message, slack_escape, slack_message,
};
pub use file::FileChannel;
pub use http::{HttpChannelOptions, WebhookError, check_channel_url, validate_channel_url};
pub use smtp::SmtpChannel;
pub use stdout::{StdoutChannel, StdoutFormat};
pub use webhook::{WEBHOOK_TYPE, WEBHOOK_VERSION, WebhookChannel};
