//! A pre-flight check of an MP4/M4A file's box tree before symphonia reads it.
//!
//! symphonia 0.5.5's MP4 reader sizes its sample tables from the counts in the file
//! (`Vec::with_capacity(entry_count)` in `stts`, `stsc`, `stsz`, `stco`, `co64`) and some
//! buffers from box sizes, before reading them. A crafted or damaged file that claims four
//! billion entries makes it allocate tens of GB, and a failed allocation aborts the whole
//! process: `podsift serve` with every user's work (found by the `audio` fuzz target). No
//! allocation can be caught, so the claims are checked first: every box must fit in its
//! parent, and every table its box. A file that fails is not handed to symphonia (it is
//! corrupt, or decoded by ffmpeg in its own process under memory limits when installed).

use std::io::{Read, Seek, SeekFrom};

/// Boxes whose payload is more boxes (the path to the sample tables, and the metadata).
const CONTAINERS: &[&[u8; 4]] = &[
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"mvex", b"moof",
    b"traf",
];

/// How far symphonia's probe looks for the `ftyp` marker (its `PROBE_SEARCH_LIMIT`, plus
/// its 16-byte window): it reads the boxes from 4 bytes before the first one it finds.
const PROBE_SEARCH: u64 = 1024 * 1024 + 16;

/// Nesting and box-count bounds, so a pathological file cannot make the check itself slow.
const MAX_DEPTH: usize = 16;
const MAX_BOXES: usize = 100_000;

/// `Ok` when symphonia would not read the file as MP4 (no `ftyp` where its probe looks), or
/// when its boxes and tables fit; else why not. The reader is left at its start.
pub(crate) fn check_mp4<R: Read + Seek + ?Sized>(r: &mut R) -> Result<(), String> {
    let len = r.seek(SeekFrom::End(0)).map_err(|e| e.to_string())?;
    r.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    r.take(PROBE_SEARCH)
        .read_to_end(&mut head)
        .map_err(|e| e.to_string())?;
    let result = match head.windows(4).position(|w| w == b"ftyp") {
        Some(at) if at >= 4 => {
            let mut boxes = 0;
            walk(r, at as u64 - 4, len, 0, &mut boxes)
        }
        _ => Ok(()),
    };
    r.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    result
}

fn read_u32<R: Read + ?Sized>(r: &mut R) -> Result<u32, String> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)
        .map_err(|_| "a box is cut short".to_string())?;
    Ok(u32::from_be_bytes(b))
}

/// Checks the boxes in `start..end` of the file.
fn walk<R: Read + Seek + ?Sized>(
    r: &mut R,
    start: u64,
    end: u64,
    depth: usize,
    boxes: &mut usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("MP4 boxes nested too deep".into());
    }
    let mut at = start;
    while end.saturating_sub(at) >= 8 {
        *boxes += 1;
        if *boxes > MAX_BOXES {
            return Err("too many MP4 boxes".into());
        }
        r.seek(SeekFrom::Start(at)).map_err(|e| e.to_string())?;
        let size32 = read_u32(r)?;
        let mut kind = [0u8; 4];
        r.read_exact(&mut kind)
            .map_err(|_| "a box is cut short".to_string())?;
        let (size, header) = match size32 {
            0 => (end - at, 8),
            1 => {
                let hi = u64::from(read_u32(r)?);
                let lo = u64::from(read_u32(r)?);
                ((hi << 32) | lo, 16)
            }
            n => (u64::from(n), 8),
        };
        let name = String::from_utf8_lossy(&kind).into_owned();
        if size < header || size > end - at {
            return Err(format!(
                "the MP4 box {name:?} claims {size} bytes, past the end of its parent"
            ));
        }
        let payload = size - header;
        if CONTAINERS.iter().any(|c| **c == kind) {
            walk(r, at + header, at + size, depth + 1, boxes)?;
        } else {
            check_table(r, &kind, payload).map_err(|e| format!("the MP4 box {name:?} {e}"))?;
        }
        at += size;
    }
    Ok(())
}

/// A sample table's entries must fit in its box (the reader is just past the box header).
fn check_table<R: Read + ?Sized>(r: &mut R, kind: &[u8; 4], payload: u64) -> Result<(), String> {
    let entry = match kind {
        b"stts" | b"co64" => 8,
        b"stsc" => 12,
        b"stco" => 4,
        b"stsz" => 4,
        _ => return Ok(()),
    };
    if payload < 8 {
        return Err("is cut short".into());
    }
    let _version_flags = read_u32(r)?;
    let mut fixed = 8;
    if kind == b"stsz" {
        // A fixed sample size: no table follows.
        if read_u32(r)? != 0 {
            return Ok(());
        }
        fixed = 12;
        if payload < fixed {
            return Err("is cut short".into());
        }
    }
    let count = u64::from(read_u32(r)?);
    if count.saturating_mul(entry) > payload - fixed {
        return Err(format!(
            "claims {count} entries, more than its {payload} bytes hold"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    fn file(stts: &[u8]) -> Vec<u8> {
        let stbl = mp4_box(b"stbl", &mp4_box(b"stts", stts));
        let moov = mp4_box(
            b"moov",
            &mp4_box(b"trak", &mp4_box(b"mdia", &mp4_box(b"minf", &stbl))),
        );
        let mut f = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        f.extend(moov);
        f
    }

    #[test]
    fn tables_that_fit_pass_and_lying_counts_do_not() {
        let mut ok = vec![0u8; 4];
        ok.extend_from_slice(&2u32.to_be_bytes());
        ok.extend_from_slice(&[0u8; 16]);
        assert_eq!(check_mp4(&mut Cursor::new(file(&ok))), Ok(()));
        let mut lie = vec![0u8; 4];
        lie.extend_from_slice(&0xECEC_BB89u32.to_be_bytes());
        lie.extend_from_slice(&[0u8; 16]);
        let err = check_mp4(&mut Cursor::new(file(&lie))).unwrap_err();
        assert!(err.contains("\"stts\" claims 3974937481 entries"), "{err}");
    }

    #[test]
    fn a_box_past_its_parent_is_refused_and_other_files_pass() {
        let mut f = file(&[0u8; 8]);
        let at = f.len() - 16; // the stts box header
        f[at..at + 4].copy_from_slice(&0x7000_0000u32.to_be_bytes());
        assert!(
            check_mp4(&mut Cursor::new(f))
                .unwrap_err()
                .contains("past the end")
        );
        assert_eq!(
            check_mp4(&mut Cursor::new(b"ID3\x03 not an mp4".to_vec())),
            Ok(())
        );
        // symphonia finds an MP4 after other bytes too; so does the check.
        let mut lie = vec![0u8; 4];
        lie.extend_from_slice(&0xECEC_BB89u32.to_be_bytes());
        lie.extend_from_slice(&[0u8; 16]);
        let mut late = b"\0\0\0x\0\0\0\0".to_vec();
        late.extend(file(&lie));
        assert!(
            check_mp4(&mut Cursor::new(late))
                .unwrap_err()
                .contains("stts")
        );
        assert_eq!(check_mp4(&mut Cursor::new(Vec::new())), Ok(()));
    }
}
