//! Decoding: every in-process format gives the same audio, bad files give clear errors.

mod common;

use std::path::Path;

use common::{ffmpeg_encode, speak, tool};
use podsift_asr::AsrError;
use podsift_asr::audio::{AudioOptions, SAMPLE_RATE, decode_all};

fn no_ffmpeg() -> AudioOptions {
    AudioOptions { ffmpeg: None }
}

fn secs(samples: &[f32]) -> f64 {
    samples.len() as f64 / SAMPLE_RATE as f64
}

fn rms(samples: &[f32]) -> f64 {
    (samples.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / samples.len().max(1) as f64).sqrt()
}

/// A few seconds of speech as WAV (espeak-ng speaks at 22.05 kHz, so resampling is exercised).
fn speech_wav(dir: &Path) -> Option<std::path::PathBuf> {
    let espeak = tool("espeak-ng")?;
    let wav = dir.join("speech.wav");
    speak(
        &espeak,
        "The committee approved the new budget on Tuesday. It raises school funding by four percent.",
        &wav,
    );
    Some(wav)
}

#[test]
fn every_supported_format_decodes_to_the_same_audio() {
    let dir = tempfile::tempdir().unwrap();
    let (Some(wav), Some(ffmpeg)) = (speech_wav(dir.path()), tool("ffmpeg")) else {
        return;
    };
    let reference = decode_all(&wav, &no_ffmpeg()).expect("wav");
    assert!(
        secs(&reference) > 3.0,
        "espeak produced {} s",
        secs(&reference)
    );
    let cases: &[(&str, &[&str])] = &[
        ("speech.mp3", &["-c:a", "libmp3lame", "-b:a", "64k"]),
        ("speech.m4a", &["-c:a", "aac", "-b:a", "64k"]),
        ("speech.ogg", &["-c:a", "libvorbis"]),
        ("speech.flac", &["-c:a", "flac"]),
        // Both channels carry the speech at full level (ffmpeg's own upmix would lower it by 3 dB).
        (
            "speech44k.wav",
            &["-ar", "44100", "-af", "pan=stereo|c0=c0|c1=c0"],
        ),
    ];
    for (name, args) in cases {
        let path = dir.path().join(name);
        ffmpeg_encode(&ffmpeg, &wav, &path, args);
        let decoded = decode_all(&path, &no_ffmpeg()).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Same length within encoder padding, same loudness within codec loss.
        assert!(
            (secs(&decoded) - secs(&reference)).abs() < 0.15,
            "{name}: {} s vs {} s",
            secs(&decoded),
            secs(&reference)
        );
        let (a, b) = (rms(&decoded), rms(&reference));
        assert!((a / b - 1.0).abs() < 0.25, "{name}: rms {a} vs {b}");
    }
}

#[test]
fn empty_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.mp3");
    std::fs::write(&path, b"").unwrap();
    let err = decode_all(&path, &AudioOptions::detect()).unwrap_err();
    assert!(matches!(err, AsrError::Empty), "{err}");
    assert!(err.to_string().contains("empty"));
}

#[test]
fn random_bytes_named_mp3_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noise.mp3");
    // Deterministic pseudo-random bytes (xorshift), 200 kB.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&path, bytes).unwrap();
    let err = decode_all(&path, &no_ffmpeg()).unwrap_err();
    assert!(
        matches!(err, AsrError::Corrupt(_)),
        "expected a corrupt-audio error, got {err:?}"
    );
    assert!(err.is_retryable(), "a fresh download may be fine");
}

/// A 7-byte ADTS (AAC) frame header announcing a frame of `len` bytes, 44.1 kHz stereo LC.
fn adts_header(len: u16) -> [u8; 7] {
    let len = len & 0x1FFF;
    [
        0xFF,
        0xF1,
        0x50,
        0x80 | (len >> 11) as u8,
        (len >> 3) as u8,
        ((len & 7) << 5) as u8 | 0x1F,
        0xFC,
    ]
}

/// symphonia 0.5.5's ADTS reader estimates the duration with unchecked arithmetic: a frame
/// found past the file's middle overflows a subtraction, one near the end steps by 0, and
/// either panicked inside `open` (found by the `audio` fuzz target). Such a file is corrupt
/// audio, an error on its episode, never a panic in the speech-to-text worker.
#[test]
fn a_crafted_aac_frame_is_corrupt_audio_not_a_panic() {
    // 20 bytes before a 20-byte frame: a step of 0 (a panic in release builds too); more:
    // the subtraction overflows.
    for junk in [20usize, 21, 40] {
        let mut bytes = vec![0u8; junk];
        bytes.extend_from_slice(&adts_header(20));
        bytes.extend_from_slice(&[0u8; 13]);
        for hint in [Some("aac"), None] {
            let opened = std::panic::catch_unwind(|| {
                podsift_asr::audio::open_bytes(bytes.clone(), hint).and_then(|mut src| {
                    while src.next_block()?.is_some() {}
                    Ok(())
                })
            });
            let result = opened.unwrap_or_else(|_| panic!("panicked on {junk} junk bytes"));
            assert!(
                matches!(result, Err(AsrError::Corrupt(_))),
                "{junk} junk bytes, hint {hint:?}: {result:?}"
            );
        }
    }
}

/// An M4A whose sample table claims four billion entries made symphonia allocate 32 GB and
/// abort the process (found by the `audio` fuzz target); it is now corrupt audio, and a
/// real M4A still decodes (every_supported_format_decodes_to_the_same_audio).
#[test]
fn an_m4a_whose_tables_lie_about_their_size_is_corrupt_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let (Some(wav), Some(ffmpeg)) = (speech_wav(dir.path()), tool("ffmpeg")) else {
        return;
    };
    let m4a = dir.path().join("speech.m4a");
    ffmpeg_encode(&ffmpeg, &wav, &m4a, &["-c:a", "aac", "-b:a", "64k"]);
    let mut bytes = std::fs::read(&m4a).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == b"stts")
        .expect("an stts box");
    // The entry count follows the type and the version/flags.
    bytes[at + 8..at + 12].copy_from_slice(&0xECEC_BB89u32.to_be_bytes());
    let lying = dir.path().join("lying.m4a");
    std::fs::write(&lying, &bytes).unwrap();
    match decode_all(&lying, &no_ffmpeg()) {
        Err(AsrError::Corrupt(why)) => {
            assert!(why.contains("\"stts\" claims 3974937481 entries"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

/// A WAV header claiming 4,294,967,294 Hz made the resampler allocate gigabytes (found by
/// the audio fuzz target): a rate no recording has is corrupt audio.
#[test]
fn an_absurd_sample_rate_is_corrupt_audio() {
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&1036u32.to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // sample rate
    wav.extend_from_slice(&88_200u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&1000u32.to_le_bytes());
    wav.extend(std::iter::repeat_n(0x11u8, 1000));
    let result = podsift_asr::audio::open_bytes(wav, Some("wav")).and_then(|mut src| {
        while src.next_block()?.is_some() {}
        Ok(())
    });
    match result {
        Err(AsrError::Corrupt(why)) => assert!(why.contains("4294967294 Hz"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_mp3_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let (Some(wav), Some(ffmpeg)) = (speech_wav(dir.path()), tool("ffmpeg")) else {
        return;
    };
    let mp3 = dir.path().join("full.mp3");
    // lame writes a Xing/Info header with the frame count, as podcast encoders do.
    ffmpeg_encode(&ffmpeg, &wav, &mp3, &["-c:a", "libmp3lame", "-b:a", "64k"]);
    let bytes = std::fs::read(&mp3).unwrap();
    let cut = dir.path().join("cut.mp3");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = decode_all(&cut, &no_ffmpeg()).unwrap_err();
    assert!(matches!(err, AsrError::Truncated(_)), "got {err:?}");
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn opus_without_ffmpeg_names_the_codec_and_with_ffmpeg_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let (Some(wav), Some(ffmpeg)) = (speech_wav(dir.path()), tool("ffmpeg")) else {
        return;
    };
    let opus = dir.path().join("speech.opus");
    ffmpeg_encode(&ffmpeg, &wav, &opus, &["-c:a", "libopus", "-b:a", "32k"]);
    let err = decode_all(&opus, &no_ffmpeg()).unwrap_err();
    match &err {
        AsrError::UnsupportedCodec { codec, hint } => {
            assert_eq!(codec, "opus");
            assert!(hint.contains("ffmpeg"), "{hint}");
        }
        other => panic!("expected UnsupportedCodec, got {other:?}"),
    }
    assert!(
        !err.is_retryable(),
        "retrying cannot help until ffmpeg is installed"
    );

    let with = AudioOptions {
        ffmpeg: Some(ffmpeg.clone()),
    };
    let decoded = decode_all(&opus, &with).expect("ffmpeg decodes opus");
    let reference = decode_all(&wav, &no_ffmpeg()).unwrap();
    assert!((secs(&decoded) - secs(&reference)).abs() < 0.15);
}

/// A playlist disguised as audio: ffmpeg would fetch its segments itself, past the SSRF
/// guard. podsift allows ffmpeg local files and pipes only (`-protocol_whitelist`; ffmpeg's
/// own default for a playlist read from a file also refuses http, so this guards the
/// behaviour rather than catching a regression of podsift's alone): nothing is requested,
/// and the file is a decoding error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_playlist_disguised_as_audio_fetches_nothing() {
    let Some(ffmpeg) = tool("ffmpeg") else {
        return;
    };
    let server = podsift_testkit::TestServer::start().await;
    server.route(
        "/seg0.ts",
        podsift_testkit::Route::ok(vec![0u8; 4096], "video/mp2t"),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("episode.mp3");
    std::fs::write(
        &path,
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{}\n#EXT-X-ENDLIST\n",
            server.url("/seg0.ts")
        ),
    )
    .unwrap();
    let opts = AudioOptions {
        ffmpeg: Some(ffmpeg),
    };
    let result = tokio::task::spawn_blocking(move || decode_all(&path, &opts))
        .await
        .unwrap();
    assert!(result.is_err(), "nothing decodes from it");
    assert_eq!(server.total_requests(), 0, "ffmpeg fetched nothing");
}
