//! Delivery channels: implementations of [`podsift_core::Channel`].

mod file;
mod smtp;
mod stdout;

pub use file::FileChannel;
pub use smtp::SmtpChannel;
pub use stdout::{StdoutChannel, StdoutFormat};
