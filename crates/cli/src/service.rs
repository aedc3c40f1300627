//! `podsift users`, `podsift serve` and `podsift worker`: the wiring of podsift-service.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use podsift_asr::AsrStage;
use podsift_core::{ChannelSpec, JobKind, NewUserProfile, SystemClock};
use podsift_pipeline::Extractor;
use podsift_service::{
    ExtractStage, FetchStage, LazyStage, Mode, Service, ServiceSettings, Stage, StageError,
};

use crate::UsersAction;
use crate::app::App;
use crate::output::{print_json, table};

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
            // Validate the channel URLs now rather than at the first delivery.
            let profile = app.store.add_user(&user, now).await?;
            let usable =
                podsift_service::channels_for(&profile, app.config.allow_private_networks, None);
            if usable.len() != profile.channels.len() {
                app.store.remove_user(&profile.email).await?;
                bail!("a channel URL is invalid (https only; see the warning above)");
            }
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

/// Speech-to-text jobs, one at a time (each uses every core).
struct AsrJobs(AsrStage);

#[async_trait]
impl Stage for AsrJobs {
    fn name(&self) -> &'static str {
        "speech_to_text"
    }
    async fn run(&self, worker: &str) -> Result<usize, StageError> {
        let summary = self
            .0
            .run_jobs(worker, &|_, _| {}, |r| {
                if r.state != "done" {
                    tracing::warn!(episode = ?r.episode_id, state = r.state, "{}", r.detail);
                }
            })
            .await
            .map_err(|e| StageError::new("speech_to_text", e))?;
        Ok(summary.done + summary.retrying + summary.dead)
    }
}

async fn build_service(app: App) -> Result<Service> {
    let app = Arc::new(app);
    let clock = Arc::new(SystemClock);
    // Every stage's lease, renewed while its job runs.
    let lease = std::time::Duration::from_secs(app.config.service.job_lease_secs.max(1));
    let fetcher =
        podsift_fetch::HttpFetcher::new(&app.config.http, app.config.allow_private_networks)
            .context("cannot set up the HTTP client")?;
    let poller = Arc::new(podsift_poller::Poller::new(
        app.store.clone(),
        Arc::new(fetcher),
        clock.clone(),
        podsift_poller::PollerSettings::new(&app.config.poll, &app.config.http)
            .with_transcription(crate::asr::enabled(&app.config.asr))
            .with_job_lease(lease),
    ));
    let llm = crate::llm::build(&app.config.llm, &app.data_dir, true)?;
    let extractor = Arc::new(
        Extractor::new(
            app.store.clone(),
            llm,
            app.cache.clone(),
            clock.clone(),
            app.config.llm.clone(),
        )
        .with_lease(lease),
    );
    let mut stages: Vec<(Arc<dyn Stage>, usize)> = vec![
        (
            Arc::new(FetchStage {
                poller: poller.clone(),
                concurrency: 4,
            }),
            1,
        ),
        (
            Arc::new(ExtractStage { extractor }),
            app.config.llm.concurrency.max(1),
        ),
    ];
    if crate::asr::enabled(&app.config.asr) {
        let a = app.clone();
        stages.push((
            Arc::new(LazyStage::new(
                "speech_to_text",
                vec![JobKind::Transcribe],
                app.store.clone(),
                move || {
                    let a = a.clone();
                    async move {
                        let engine = crate::asr::build_engine(&a)
                            .await
                            .map_err(|e| StageError::new("speech_to_text", format!("{e:#}")))?;
                        let stage = AsrStage::new(
                            a.store.clone(),
                            a.downloader.clone(),
                            engine,
                            Arc::new(SystemClock),
                            podsift_asr::stage::AsrSettings {
                                job_lease: lease.max(std::time::Duration::from_secs(60)),
                                ..crate::asr::settings(&a)
                            },
                        );
                        Ok(Arc::new(AsrJobs(stage)) as Arc<dyn Stage>)
                    }
                },
            )),
            1,
        ));
    }
    let feedback_secret = match podsift_digest::load_or_create_secret(
        app.config.digest.feedback_secret_env.as_deref(),
        &app.data_dir,
    ) {
        Ok(secret) => Some(secret),
        Err(e) => {
            tracing::warn!("feedback links disabled: {e}");
            None
        }
    };
    // Each user's digest is emailed to their address when an SMTP server is configured.
    let email = &app.config.email;
    let smtp = email
        .smtp_host
        .is_some()
        .then(|| podsift_service::SmtpServer {
            config: email.clone(),
            password: podsift_digest::SmtpChannel::password_from_env(email),
            unsubscribe_url: app.config.digest.base_url.clone(),
        });
    let mut errors = Vec::new();
    let ranker = crate::rank::ranker(&app, &mut errors).await?;
    for e in errors {
        tracing::warn!("{e}");
    }
    let settings = ServiceSettings {
        feedback_secret,
        allow_http_loopback: app.config.allow_private_networks,
        public_url: app.config.digest.base_url.clone(),
        digest: app.config.digest.clone(),
        smtp,
        ranker,
        ..ServiceSettings::from_config(&app.config.service)
    };
    Ok(Service {
        store: app.store.clone(),
        clock,
        poller: Some(poller),
        stages,
        settings,
    })
}

pub async fn serve(app: App, listen: SocketAddr) -> Result<()> {
    let service = build_service(app).await?;
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
    exit_now()
}

/// Exit at once after a clean shutdown: an extraction cut off after the grace period runs
/// on a blocking thread that dropping the runtime would wait for; its job is leased and
/// will be reclaimed.
fn exit_now() -> ! {
    std::process::exit(0)
}

pub async fn worker(app: App) -> Result<()> {
    let service = build_service(app).await?;
    eprintln!("podsift: worker running (job stages only)");
    service
        .run(Mode::Worker, None, podsift_service::shutdown_signal())
        .await?;
    exit_now()
}
