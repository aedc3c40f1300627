//! Streaming decode to 16 kHz mono `f32`: symphonia in-process for MP3, AAC/M4A, Ogg Vorbis,
//! FLAC and WAV; `ffmpeg` (when installed) for what symphonia cannot decode (Opus, HE-AAC,
//! odd containers). Never holds more than one decoded packet plus a resampler block, so a
//! three-hour episode costs no more memory than a three-minute one.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, CODEC_TYPE_OPUS, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use crate::error::AsrError;

/// Whisper's input rate.
pub const SAMPLE_RATE: u32 = 16_000;

/// Where decoded audio comes from.
pub trait PcmSource: Send {
    /// The next block of 16 kHz mono samples; `None` at the end.
    fn next_block(&mut self) -> Result<Option<Vec<f32>>, AsrError>;
    /// What decodes it, for logs and errors (`symphonia:mp3`, `ffmpeg`).
    fn describe(&self) -> String;
    /// The length the file announces (its header's frame count), if it does.
    fn announced_secs(&self) -> Option<f64> {
        None
    }
}

/// How to decode.
#[derive(Debug, Clone, Default)]
pub struct AudioOptions {
    /// The ffmpeg binary used as a fallback; `None`: no fallback (unsupported codecs fail
    /// with a clear error).
    pub ffmpeg: Option<PathBuf>,
}

impl AudioOptions {
    /// ffmpeg from `PATH` when it is installed.
    pub fn detect() -> Self {
        Self {
            ffmpeg: find_in_path("ffmpeg"),
        }
    }
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Open `path` for decoding: symphonia when it can, else ffmpeg, else a clear error.
pub fn open(path: &Path, opts: &AudioOptions) -> Result<Box<dyn PcmSource>, AsrError> {
    let size = std::fs::metadata(path)
        .map_err(|e| AsrError::io(format!("cannot read {}", path.display()), e))?
        .len();
    if size == 0 {
        return Err(AsrError::Empty);
    }
    match SymphoniaSource::open(path) {
        Ok(src) => Ok(Box::new(src)),
        Err(Unsupported::Codec(codec)) => match &opts.ffmpeg {
            Some(ffmpeg) => Ok(Box::new(FfmpegSource::spawn(ffmpeg, path)?)),
            None => Err(AsrError::UnsupportedCodec {
                codec,
                hint: "podsift decodes MP3, AAC, Vorbis, FLAC and WAV itself; install ffmpeg for this one".into(),
            }),
        },
        Err(Unsupported::Format(reason)) => match &opts.ffmpeg {
            // ffmpeg knows more containers; if it fails too, its message says why.
            Some(ffmpeg) => Ok(Box::new(FfmpegSource::spawn(ffmpeg, path)?)),
            None => Err(AsrError::Corrupt(format!("not a recognised audio file ({reason})"))),
        },
        Err(Unsupported::Io(e)) => Err(e),
    }
}

/// Decodes audio held in memory with symphonia only (never ffmpeg): `ext` is the file
/// extension to hint the container (`mp3`, `wav`, …). Fails like [`open`] without a
/// fallback. For tests and fuzzing; the pipeline streams files through [`open`].
pub fn open_bytes(bytes: Vec<u8>, ext: Option<&str>) -> Result<Box<dyn PcmSource>, AsrError> {
    if bytes.is_empty() {
        return Err(AsrError::Empty);
    }
    match SymphoniaSource::from_source(Box::new(std::io::Cursor::new(bytes)), ext) {
        Ok(src) => Ok(Box::new(src)),
        Err(Unsupported::Codec(codec)) => Err(AsrError::UnsupportedCodec {
            codec,
            hint: "podsift decodes MP3, AAC, Vorbis, FLAC and WAV itself".into(),
        }),
        Err(Unsupported::Format(reason)) => Err(AsrError::Corrupt(format!(
            "not a recognised audio file ({reason})"
        ))),
        Err(Unsupported::Io(e)) => Err(e),
    }
}

enum Unsupported {
    Codec(String),
    Format(String),
    Io(AsrError),
}

/// Runs a step of symphonia's, turning a panic into an error. Its readers still have
/// unchecked arithmetic on header fields (0.5.5's ADTS reader subtracts a header offset from
/// a length it has not compared, and steps by a width that can be 0), so a crafted or
/// damaged file can panic inside it; that file is then corrupt audio, reported on its
/// episode like any other, not a speech-to-text worker brought down (found by the `audio`
/// fuzz target). The reader or decoder that panicked is not used again.
fn contain_panic<T>(what: &str, step: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).map_err(|panic| {
        let msg = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        format!("{what} failed on this file (it panicked: {msg})")
    })
}

/// In-process decoding with symphonia, resampled with rubato.
pub struct SymphoniaSource {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    codec: String,
    /// Frames the container announces (for truncation checks), at the source rate.
    expected_frames: Option<u64>,
    /// The length the container announces, in seconds.
    announced_secs: Option<f64>,
    decoded_frames: u64,
    packets: u64,
    bad_packets: u64,
    resampler: Option<Resample>,
    done: bool,
}

impl SymphoniaSource {
    fn open(path: &Path) -> Result<Self, Unsupported> {
        let file = std::fs::File::open(path).map_err(|e| {
            Unsupported::Io(AsrError::io(format!("cannot open {}", path.display()), e))
        })?;
        Self::from_source(Box::new(file), path.extension().and_then(|e| e.to_str()))
    }

    fn from_source(
        mut source: Box<dyn symphonia::core::io::MediaSource>,
        ext: Option<&str>,
    ) -> Result<Self, Unsupported> {
        // An MP4 whose tables lie about their size would make symphonia allocate what the
        // file claims, and abort the process (see `mp4_check`).
        crate::mp4_check::check_mp4(&mut source).map_err(Unsupported::Format)?;
        let mss = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = ext {
            hint.with_extension(ext);
        }
        let probed = contain_panic("the container reader", || {
            symphonia::default::get_probe().format(
                &hint,
                mss,
                &FormatOptions {
                    enable_gapless: true,
                    ..Default::default()
                },
                &MetadataOptions::default(),
            )
        })
        .map_err(Unsupported::Format)?
        .map_err(|e| Unsupported::Format(e.to_string()))?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| Unsupported::Format("no audio track".into()))?;
        let params = track.codec_params.clone();
        let track_id = track.id;
        let registry = symphonia::default::get_codecs();
        let codec = match registry.get_codec(params.codec) {
            Some(d) => d.short_name.to_string(),
            None if params.codec == CODEC_TYPE_OPUS => {
                return Err(Unsupported::Codec("opus".into()));
            }
            None => return Err(Unsupported::Codec(format!("{}", params.codec))),
        };
        let decoder = registry
            .make(&params, &DecoderOptions::default())
            .map_err(|e| Unsupported::Codec(format!("{codec} ({e})")))?;
        Ok(Self {
            format,
            decoder,
            track_id,
            codec,
            expected_frames: params.n_frames,
            announced_secs: params
                .n_frames
                .zip(params.sample_rate.filter(|r| *r > 0))
                .map(|(frames, rate)| frames as f64 / f64::from(rate)),
            decoded_frames: 0,
            packets: 0,
            bad_packets: 0,
            resampler: None,
            done: false,
        })
    }

    /// The decoder gave up on this file mid-way (see [`contain_panic`]): nothing more is read.
    fn broken(&mut self, why: String) -> AsrError {
        self.done = true;
        AsrError::Corrupt(format!("{} {why}", self.codec))
    }

    fn finish(&mut self) -> Result<Option<Vec<f32>>, AsrError> {
        self.done = true;
        if self.packets > 0 && self.bad_packets * 2 > self.packets {
            return Err(AsrError::Corrupt(format!(
                "{} of {} {} packets could not be decoded",
                self.bad_packets, self.packets, self.codec
            )));
        }
        if self.decoded_frames == 0 {
            return Err(AsrError::Corrupt(format!(
                "no audio could be decoded ({} packets)",
                self.packets
            )));
        }
        if let Some(expected) = self.expected_frames
            && self.decoded_frames * 100 < expected * 95
        {
            let rate = self.resampler.as_ref().map_or(1, |r| r.in_rate) as f64;
            return Err(AsrError::Truncated(format!(
                "decoded {:.1} s of the {:.1} s the file announces",
                self.decoded_frames as f64 / rate,
                expected as f64 / rate
            )));
        }
        Ok(self
            .resampler
            .as_mut()
            .map(Resample::flush)
            .filter(|v| !v.is_empty()))
    }
}

impl PcmSource for SymphoniaSource {
    fn next_block(&mut self) -> Result<Option<Vec<f32>>, AsrError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let format = &mut self.format;
            let next = contain_panic("the container reader", || format.next_packet());
            let next = next.map_err(|e| self.broken(e))?;
            let packet = match next {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return self.finish();
                }
                Err(SymError::ResetRequired) => return self.finish(),
                Err(e) => {
                    // A broken container mid-file: keep what was decoded, judge it in finish().
                    tracing::warn!(codec = %self.codec, error = %e, "demuxing stopped early");
                    self.bad_packets += 1;
                    return self.finish();
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            self.packets += 1;
            let decoder = &mut self.decoder;
            let decoded = match contain_panic("the decoder", || decoder.decode(&packet)) {
                Ok(decoded) => decoded,
                Err(why) => return Err(self.broken(why)),
            };
            let decoded = match decoded {
                Ok(d) => d,
                Err(SymError::DecodeError(e)) => {
                    tracing::debug!(codec = %self.codec, error = e, "skipping an undecodable packet");
                    self.bad_packets += 1;
                    continue;
                }
                Err(SymError::IoError(_)) => {
                    self.bad_packets += 1;
                    continue;
                }
                Err(e) => return Err(AsrError::Corrupt(format!("{} decoder: {e}", self.codec))),
            };
            let spec = *decoded.spec();
            let frames = decoded.frames();
            if frames == 0 {
                continue;
            }
            let channels = spec.channels.count().max(1);
            let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
            buf.copy_interleaved_ref(decoded);
            let mono: Vec<f32> = buf
                .samples()
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() / channels as f32)
                .collect();
            self.decoded_frames += mono.len() as u64;
            let resampler = match &mut self.resampler {
                Some(r) => r,
                None => self.resampler.insert(Resample::new(spec.rate)?),
            };
            let out = resampler.push(&mono)?;
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }

    fn describe(&self) -> String {
        format!("symphonia:{}", self.codec)
    }

    fn announced_secs(&self) -> Option<f64> {
        self.announced_secs
    }
}

/// Any rate to 16 kHz in fixed blocks (rubato's FFT resampler), with its delay trimmed so
/// sample `n` of the output is time `n / 16000` of the input.
struct Resample {
    in_rate: u32,
    inner: Option<FftFixedIn<f32>>,
    pending: Vec<f32>,
    /// Output samples still to drop (the resampler's delay).
    skip: usize,
    /// Input frames pushed and output samples produced, to size the final block exactly.
    frames_in: u64,
    samples_out: u64,
}

/// Sample rates accepted from a file's header.
const MIN_RATE: u32 = 1_000;
const MAX_RATE: u32 = 768_000;

impl Resample {
    fn new(in_rate: u32) -> Result<Self, AsrError> {
        // The resampler sizes its FFTs from the two rates (by their greatest common
        // divisor): a header claiming 4,294,967,294 Hz made it take gigabytes (found by the
        // audio fuzz target). Real audio is recorded between 8 and 768 kHz.
        if !(MIN_RATE..=MAX_RATE).contains(&in_rate) {
            return Err(AsrError::Corrupt(format!(
                "the audio announces a sample rate of {in_rate} Hz, outside {MIN_RATE}–{MAX_RATE} Hz"
            )));
        }
        let inner = if in_rate == SAMPLE_RATE {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(in_rate as usize, SAMPLE_RATE as usize, 1024, 2, 1)
                    .map_err(|e| AsrError::Engine(format!("resampler: {e}")))?,
            )
        };
        let skip = inner.as_ref().map_or(0, |r| r.output_delay());
        Ok(Self {
            in_rate,
            inner,
            pending: Vec::new(),
            skip,
            frames_in: 0,
            samples_out: 0,
        })
    }

    fn push(&mut self, samples: &[f32]) -> Result<Vec<f32>, AsrError> {
        self.frames_in += samples.len() as u64;
        let Some(inner) = &mut self.inner else {
            self.samples_out += samples.len() as u64;
            return Ok(samples.to_vec());
        };
        self.pending.extend_from_slice(samples);
        let mut out = Vec::new();
        loop {
            let need = inner.input_frames_next();
            if self.pending.len() < need {
                break;
            }
            let block = inner
                .process(&[&self.pending[..need]], None)
                .map_err(|e| AsrError::Engine(format!("resampler: {e}")))?;
            self.pending.drain(..need);
            out.extend_from_slice(&block[0]);
        }
        Ok(self.trim(out))
    }

    fn trim(&mut self, mut out: Vec<f32>) -> Vec<f32> {
        let drop = self.skip.min(out.len());
        self.skip -= drop;
        out.drain(..drop);
        self.samples_out += out.len() as u64;
        out
    }

    /// The rest, padded through the resampler and cut to the exact expected length.
    fn flush(&mut self) -> Vec<f32> {
        let Some(inner) = &mut self.inner else {
            return Vec::new();
        };
        let expected = self.frames_in * SAMPLE_RATE as u64 / self.in_rate as u64;
        let mut out = Vec::new();
        let mut rounds = 0;
        while self.samples_out + (out.len() as u64).saturating_sub(self.skip as u64) < expected
            && rounds < 4
        {
            rounds += 1;
            let need = inner.input_frames_next();
            let mut block = std::mem::take(&mut self.pending);
            block.resize(need, 0.0);
            match inner.process(&[&block[..]], None) {
                Ok(b) => out.extend_from_slice(&b[0]),
                Err(_) => break,
            }
        }
        let mut out = self.trim(out);
        let over = (self.samples_out).saturating_sub(expected) as usize;
        out.truncate(out.len().saturating_sub(over));
        self.samples_out = self.samples_out.min(expected);
        out
    }
}

/// CPU seconds an ffmpeg decode may use (a 10-hour episode decodes in a few minutes).
pub const FFMPEG_MAX_CPU_SECS: u64 = 3600;
/// Address space an ffmpeg decode may map.
pub const FFMPEG_MAX_MEMORY: u64 = 4 << 30;

/// Bounds the ffmpeg child: the kernel ends it past [`FFMPEG_MAX_CPU_SECS`] of CPU time and
/// refuses it memory past [`FFMPEG_MAX_MEMORY`] (a crafted file cannot spin or balloon).
#[cfg(unix)]
fn limit_resources(cmd: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: between fork and exec only async-signal-safe calls are allowed; setrlimit is
    // one, and nothing here allocates or takes a lock.
    unsafe {
        cmd.pre_exec(|| {
            let set = |resource, limit: u64| {
                let l = libc::rlimit {
                    rlim_cur: limit as libc::rlim_t,
                    rlim_max: limit as libc::rlim_t,
                };
                if libc::setrlimit(resource, &l) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            };
            set(libc::RLIMIT_CPU, FFMPEG_MAX_CPU_SECS)?;
            set(libc::RLIMIT_AS, FFMPEG_MAX_MEMORY)
        });
    }
}

#[cfg(not(unix))]
fn limit_resources(_cmd: &mut Command) {}

/// `ffmpeg -f f32le -ac 1 -ar 16000` on a pipe.
pub struct FfmpegSource {
    child: Child,
    stdout: ChildStdout,
    stderr: Option<std::thread::JoinHandle<String>>,
    samples: u64,
    done: bool,
}

impl FfmpegSource {
    fn spawn(ffmpeg: &Path, path: &Path) -> Result<Self, AsrError> {
        let mut cmd = Command::new(ffmpeg);
        // The file is a download from the internet: a playlist or manifest disguised as audio
        // would make ffmpeg fetch URLs itself, past the SSRF guard. Local files and pipes only.
        cmd.args([
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-protocol_whitelist",
            "file,pipe",
            "-i",
        ])
        .arg(path)
        .args(["-vn", "-ac", "1", "-ar", "16000", "-f", "f32le", "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        limit_resources(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| AsrError::io(format!("cannot run {}", ffmpeg.display()), e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| AsrError::Engine("ffmpeg stdout missing".into()))?;
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = (&mut err).take(16 * 1024).read_to_string(&mut text);
                // Keep draining so ffmpeg never blocks on a full pipe.
                let _ = std::io::copy(&mut err, &mut std::io::sink());
                text
            })
        });
        Ok(Self {
            child,
            stdout,
            stderr,
            samples: 0,
            done: false,
        })
    }
}

impl PcmSource for FfmpegSource {
    fn next_block(&mut self) -> Result<Option<Vec<f32>>, AsrError> {
        if self.done {
            return Ok(None);
        }
        let mut bytes = vec![0u8; 256 * 1024];
        let mut filled = 0;
        while filled < bytes.len() {
            match self.stdout.read(&mut bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(AsrError::io("reading ffmpeg's output", e)),
            }
        }
        if filled == 0 {
            self.done = true;
            let status = self
                .child
                .wait()
                .map_err(|e| AsrError::io("waiting for ffmpeg", e))?;
            let stderr = self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default();
            if !status.success() || self.samples == 0 {
                let reason = stderr.lines().last().unwrap_or("no audio decoded").trim();
                return Err(AsrError::Corrupt(format!("ffmpeg: {reason}")));
            }
            return Ok(None);
        }
        let whole = filled - filled % 4;
        let out: Vec<f32> = bytes[..whole]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if whole < filled {
            // A sample split across reads: finish it with the next bytes.
            let mut rest = [0u8; 4];
            rest[..filled - whole].copy_from_slice(&bytes[whole..filled]);
            let mut got = filled - whole;
            while got < 4 {
                match self.stdout.read(&mut rest[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) => return Err(AsrError::io("reading ffmpeg's output", e)),
                }
            }
            let mut out = out;
            if got == 4 {
                out.push(f32::from_le_bytes(rest));
            }
            self.samples += out.len() as u64;
            return Ok(Some(out));
        }
        self.samples += out.len() as u64;
        Ok(Some(out))
    }

    fn describe(&self) -> String {
        "ffmpeg".into()
    }
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Decode a whole file into memory (tests and short clips only; the pipeline streams).
pub fn decode_all(path: &Path, opts: &AudioOptions) -> Result<Vec<f32>, AsrError> {
    let mut src = open(path, opts)?;
    let mut all = Vec::new();
    while let Some(block) = src.next_block()? {
        all.extend_from_slice(&block);
    }
    Ok(all)
}
