//! `podsift users`, `podsift serve` and `podsift worker`: the wiring of podsift-service.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use podsift_core::{ChannelSpec, NewUserProfile};
use podsift_service::{Mode, Service, ServiceSettings};

use crate::UsersAction;
use crate::app::App;
use crate::output::{print_json, table};
use crate::wiring::{self, Driver};

pub async fn users(app: &App, action: UsersAction) -> Result<()> {
    match action {
        UsersAction::Add {
            email,
            tz,
            at,
            size,
            interests,
            webhook,
            webhook_secret,
            slack,
            discord,
            password_stdin,
            json,
        } => {
            if !email.contains('@') {
                bail!("{email:?} is not an email address");
            }
            let password_hash = match password_stdin {
                true => Some(read_password_hash()?),
                false => None,
            };
            let now = chrono::Utc::now();
            let first = podsift_service::first_slot(now, &tz, &at)?;
            let at = podsift_schedule::parse_local_time(&at)?
                .format("%H:%M")
                .to_string();
            if size == 0 {
                bail!("--size must be at least 1");
            }
            let mut channels = Vec::new();
            let secret = webhook_secret.unwrap_or_else(podsift_service::new_feed_token);
            for url in webhook {
                channels.push(ChannelSpec::Webhook {
                    url,
                    secret: secret.clone(),
                });
            }
            channels.extend(slack.into_iter().map(|url| ChannelSpec::Slack { url }));
            channels.extend(discord.into_iter().map(|url| ChannelSpec::Discord { url }));
            let user = NewUserProfile {
                email,
                time_zone: podsift_schedule::parse_tz(&tz)?.name().to_string(),
                delivery_time: at,
                digest_size: size,
                interests,
                channels,
                next_digest_at: Some(first),
                feed_token: podsift_service::new_feed_token(),
            };
            // Validate the channel URLs now rather than at the first delivery: the form, and
            // the SSRF guard on the host and what it resolves to.
            let opts = podsift_pipeline::channel_options(&app.config);
            for spec in &user.channels {
                let (ChannelSpec::Webhook { url, .. }
                | ChannelSpec::Slack { url }
                | ChannelSpec::Discord { url }) = spec
                else {
                    continue;
                };
                if let Err(e) = podsift_digest::check_channel_url(url, &opts).await {
                    bail!("invalid {} URL: {e}", spec.kind());
                }
            }
            let profile = app.store.add_user(&user, now).await?;
            if let Some(hash) = &password_hash {
                app.store.set_password_hash(profile.id, Some(hash)).await?;
            }
            let base = app
                .config
                .digest
                .base_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:8080".into());
            let feed = format!(
                "{}/feeds/{}.atom",
                base.trim_end_matches('/'),
                profile.feed_token
            );
            if json {
                return print_json(&serde_json::json!({
                    "user": profile,
                    "feed_url": feed,
                    "webhook_secret": (!profile.channels.is_empty()).then_some(secret),
                }));
            }
            println!(
                "added {} (digest of {} at {} {}, first {})",
                profile.email,
                profile.digest_size,
                profile.delivery_time,
                profile.time_zone,
                first.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")
            );
            println!("private feed: {feed}");
            if profile
                .channels
                .iter()
                .any(|c| matches!(c, ChannelSpec::Webhook { .. }))
            {
                println!("webhook secret (verify X-Podsift-Signature with it): {secret}");
            }
            Ok(())
        }
        UsersAction::List { json } => {
            let users = app.store.list_users().await?;
            if json {
                return print_json(&users);
            }
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.email.clone(),
                        u.time_zone.clone(),
                        u.delivery_time.clone(),
                        u.digest_size.to_string(),
                        u.channels.len().to_string(),
                        u.next_digest_at
                            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &["email", "zone", "at", "size", "channels", "next digest"],
                    &rows
                )
            );
            Ok(())
        }
        UsersAction::Passwd { email } => {
            let hash = read_password_hash()?;
            let user = app
                .store
                .user_by_email(&email)
                .await?
                .with_context(|| format!("no user {email:?}"))?;
            app.store.set_password_hash(user.id, Some(&hash)).await?;
            let ended = app.store.delete_user_sessions(user.id).await?;
            println!("password set for {email} ({ended} sessions signed out)");
            Ok(())
        }
        UsersAction::Remove { email } => {
            if !app.store.remove_user(&email).await? {
                bail!("no user {email:?}");
            }
            println!("removed {email}");
            Ok(())
        }
    }
}

/// The argon2 hash of the password on the first line of stdin.
fn read_password_hash() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    Ok(podsift_web::hash_password(password)?)
}

/// The service over the pipeline `podsift run` drives: the same stages, leases and digest
/// recipe.
async fn build_service(app: App, serving: bool) -> Result<Service> {
    let app = Arc::new(app);
    let (pipeline, mut warnings) = wiring::pipeline(&app, Driver::Service).await?;
    // Serving: the Discover page's directories and the daily topic scan.
    let discovery = if serving {
        let loaded = crate::discover::pipeline_embedder(&pipeline);
        let scanner = crate::discover::scanner(&app, loaded, &mut warnings).await?;
        Some((crate::discover::directory(&app), Arc::new(scanner)))
    } else {
        None
    };
    for w in warnings {
        tracing::warn!("{w}");
    }
    let settings = ServiceSettings {
        public_url: app.config.digest.base_url.clone(),
        web: app.config.web.clone(),
        metrics_token: std::env::var(&app.config.web.metrics_token_env)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty()),
        ..ServiceSettings::from_config(&app.config.service)
    };
    let service = Service::new(pipeline, settings);
    Ok(match discovery {
        Some((directory, scanner)) => service.with_discovery(directory, scanner),
        None => service,
    })
}

pub async fn serve(app: App, listen: SocketAddr) -> Result<()> {
    let service = build_service(app, true).await?;
    let listener = podsift_service::bind(listen).await?;
    let addr = listener
        .local_addr()
        .context("the listener has no address")?;
    // Tests and scripts read this line to find a port picked with :0.
    eprintln!("podsift: listening on http://{addr}");
    service
        .run(
            Mode::Serve,
            Some(listener),
            podsift_service::shutdown_signal(),
        )
        .await?;
    Ok(())
}

pub async fn worker(app: App) -> Result<()> {
    let service = build_service(app, false).await?;
    eprintln!("podsift: worker running (job stages only)");
    service
        .run(Mode::Worker, None, podsift_service::shutdown_signal())
        .await?;
    Ok(())
}
